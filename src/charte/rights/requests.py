"""Finding requests and moving them between states, each move recorded in the ledger in the same transaction."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.ledger import append
from charte.ledger.chain import Clock
from charte.rights.deadlines import due_date, local_date, suspended_days_between
from charte.rights.identity import Identity
from charte.rights.policy import RightsPolicy
from charte.rights.states import CLOSED, WAITING_FOR_SUBJECT, check_transition
from charte.store.rights import RightsRequest

# Crockford's base 32 without look-alikes: references are read over the phone and typed from letters.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class UnknownRequest(LookupError):
    """No request has this reference (or the caller may not see it: deliberately not told apart)."""


def as_utc(moment: datetime) -> datetime:
    """A stored moment as aware UTC (SQLite returns naive datetimes)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def now_utc(clock: Clock) -> datetime:
    """The clock's time in UTC: every stored moment is UTC, whatever zone a test clock uses."""
    return clock().astimezone(UTC)


def new_reference() -> str:
    """A fresh request reference such as ``R-7K3M-9QXA`` (40 random bits)."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"R-{chars[:4]}-{chars[4:]}"


def find_request(session: Session, reference: str, *, for_update: bool = False) -> RightsRequest:
    """The request with ``reference``; locked for the transaction when ``for_update``."""
    query = select(RightsRequest).where(RightsRequest.reference == reference.strip().upper())
    if for_update:
        query = query.with_for_update()
    found = session.scalars(query).first()
    if found is None:
        raise UnknownRequest(f"no request {reference!r}")
    return found


def list_requests(session: Session, *, states: Collection[str] | None = None, due_by: date | None = None,
                  subject_ref: str | None = None, limit: int | None = None) -> list[RightsRequest]:
    """Requests by due date (soonest first), filtered by state, due date and subject."""
    query = select(RightsRequest)
    if states is not None:
        query = query.where(RightsRequest.state.in_(list(states)))
    if due_by is not None:
        query = query.where(RightsRequest.due_on <= due_by)
    if subject_ref is not None:
        query = query.where(RightsRequest.subject_ref == subject_ref)
    query = query.order_by(RightsRequest.due_on, RightsRequest.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def identity_of(request: RightsRequest) -> Identity:
    """The identity the request was made with."""
    return Identity(request.email, dict(request.identifiers or {}))


def current_due(request: RightsRequest, policy: RightsPolicy, now: datetime) -> date:
    """The due date as of ``now``: a suspension still running pushes it back day by day."""
    running = 0
    if request.suspended_since is not None:
        running = suspended_days_between(as_utc(request.suspended_since), now, policy.timezone)
    return due_date(request.received_on, extension_months=request.extension_months,
                    suspended_days=request.suspended_days + running, alsace_moselle=policy.alsace_moselle)


def refresh_due(request: RightsRequest, policy: RightsPolicy) -> None:
    """Recompute the stored due dates from receipt, extension and completed suspensions."""
    request.first_due_on = due_date(request.received_on, suspended_days=request.suspended_days,
                                    alsace_moselle=policy.alsace_moselle)
    request.due_on = due_date(request.received_on, extension_months=request.extension_months,
                              suspended_days=request.suspended_days, alsace_moselle=policy.alsace_moselle)


def record(session: Session, request: RightsRequest, event: str, *, actor: str, clock: Clock,
           **payload: Any) -> None:
    """Append a ledger event about ``request`` (the subject is named by its digest, never its address)."""
    append(session, event, {"reference": request.reference, "type": request.request_type, **payload},
           actor=actor, subject=request.subject_ref, clock=clock)


def move(session: Session, request: RightsRequest, target: str, event: str, *, actor: str, policy: RightsPolicy,
         clock: Clock, **payload: Any) -> None:
    """Change the request's state, keep the deadline bookkeeping, and record the move in the ledger."""
    check_transition(request.reference, request.state, target)
    now = now_utc(clock)
    previous = request.state
    if previous in WAITING_FOR_SUBJECT and target not in WAITING_FOR_SUBJECT and request.suspended_since:
        request.suspended_days += suspended_days_between(as_utc(request.suspended_since), now, policy.timezone)
        request.suspended_since = None
    if target in WAITING_FOR_SUBJECT and request.suspended_since is None:
        request.suspended_since = now
    request.state = target
    if target in CLOSED:
        request.open_key = None
        request.closed_at = now
        request.lease_owner = request.lease_until = None
    refresh_due(request, policy)
    record(session, request, event, actor=actor, clock=clock, **{"from": previous, "to": target,
                                                                 "due_on": request.due_on.isoformat()}, **payload)


def received_on(moment: datetime, policy: RightsPolicy) -> date:
    """The local date a request counts as received."""
    return local_date(moment, policy.timezone)
