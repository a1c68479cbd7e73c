"""The DPO's decisions and the execution lease: approve, deny, extend, cancel, claim, finish."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from charte.ledger.chain import Clock
from charte.rights.deadlines import MAX_EXTENSION_MONTHS, local_date
from charte.rights.policy import RightsPolicy
from charte.rights.requests import as_utc, move, now_utc, record, refresh_due
from charte.rights.states import OPEN
from charte.rights.verification import MAX_REASON_LENGTH, MissingReason, delete_identity_document
from charte.store.rights import RightsRequest

DEFAULT_LEASE = timedelta(minutes=15)
#: Types the DPO answers in words rather than by executing something.
ANSWERED_IN_WORDS = frozenset({"complaint"})


class WorkflowError(Exception):
    """The action is not possible for this request now."""


class ExtensionRefused(WorkflowError):
    """The extension breaks Art. 12(3): too long, too late, or without reasons."""


class LeaseLost(WorkflowError):
    """Another worker holds the request now (this worker's lease expired)."""


def _reason(text: str | None, what: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise MissingReason(f"{what} needs a reason")
    return reason[:MAX_REASON_LENGTH]


def approve(session: Session, request: RightsRequest, *, actor: str, policy: RightsPolicy, clock: Clock,
            response: str | None = None, auto: bool = False) -> None:
    """Approve a verified request for execution; a complaint is approved with the DPO's response."""
    if request.request_type in ANSWERED_IN_WORDS:
        response = _reason(response, "answering a complaint")
    request.decided_at, request.decided_by = now_utc(clock), actor
    request.decision_reason = (response or "").strip()[:MAX_REASON_LENGTH] or None
    request.auto_approved = auto
    move(session, request, "approved", "request.approved", actor=actor, policy=policy, clock=clock, auto=auto)


def deny(session: Session, request: RightsRequest, reason: str, *, actor: str, policy: RightsPolicy,
         clock: Clock) -> None:
    """Refuse the request with reasons (Art. 12(4)); the letter cites the CNIL and the courts."""
    request.decision_reason = _reason(reason, "a refusal")
    request.decided_at, request.decided_by = now_utc(clock), actor
    request.awaiting_document = False
    move(session, request, "denied", "request.denied", actor=actor, policy=policy, clock=clock,
         reason=request.decision_reason)
    delete_identity_document(session, request, actor=actor, clock=clock)


def extend(session: Session, request: RightsRequest, months: int, reason: str, *, actor: str,
           policy: RightsPolicy, clock: Clock) -> None:
    """Extend the deadline to ``months`` extra months (1 or 2), before the first due date, with reasons."""
    text = (reason or "").strip()
    if not text:
        raise ExtensionRefused("an extension needs reasons, which are sent to the subject")
    if request.state not in OPEN:
        raise ExtensionRefused(f"request {request.reference} is {request.state}")
    if not request.extension_months < months <= MAX_EXTENSION_MONTHS:
        raise ExtensionRefused(f"the deadline can be extended by at most {MAX_EXTENSION_MONTHS} months in all "
                               f"(now {request.extension_months})")
    today = local_date(now_utc(clock), policy.timezone)
    if today > request.first_due_on:
        raise ExtensionRefused(f"the first due date ({request.first_due_on.isoformat()}) has passed: "
                               "the subject had to be told before it")
    request.extension_months = months
    request.extension_reason = text[:MAX_REASON_LENGTH]
    refresh_due(request, policy)
    record(session, request, "request.extended", actor=actor, clock=clock, months=months,
           reason=request.extension_reason, first_due_on=request.first_due_on.isoformat(),
           due_on=request.due_on.isoformat())


def cancel(session: Session, request: RightsRequest, *, actor: str, reason: str, policy: RightsPolicy,
           clock: Clock) -> None:
    """Close a request without an answer: withdrawn by the subject, or never verified."""
    move(session, request, "cancelled", "request.cancelled", actor=actor, policy=policy, clock=clock,
         reason=reason[:MAX_REASON_LENGTH])
    delete_identity_document(session, request, actor=actor, clock=clock)


def claim(session: Session, request_id: int, worker: str, now: datetime, *,
          lease: timedelta = DEFAULT_LEASE) -> bool:
    """Take the execution lease of an approved request, or of one whose previous lease expired."""
    now = as_utc(now)
    previous = session.scalars(select(RightsRequest.state).where(RightsRequest.id == request_id)).first()
    claimed = cast(CursorResult[Any], session.execute(
        update(RightsRequest)
        .where(RightsRequest.id == request_id)
        .where((RightsRequest.state == "approved")
               | ((RightsRequest.state == "executing") & (RightsRequest.lease_until < now)))
        .values(state="executing", lease_owner=worker, lease_until=now + lease,
                execution_attempts=RightsRequest.execution_attempts + 1)
        .execution_options(synchronize_session=False)
    )).rowcount
    if claimed != 1:
        return False
    request = session.get(RightsRequest, request_id)
    assert request is not None
    session.refresh(request)
    record(session, request, "request.execution_started", actor=f"worker:{worker}", clock=lambda: now,
           **{"from": previous, "to": "executing", "lease_until": (now + lease).isoformat(),
              "attempt": request.execution_attempts})
    return True


def expired_leases(session: Session, now: datetime) -> list[RightsRequest]:
    """Requests whose worker stopped renewing its lease (killed or stuck): the reconciler runs them again."""
    return list(session.scalars(select(RightsRequest).where(RightsRequest.state == "executing",
                                                            RightsRequest.lease_until < as_utc(now))
                                .order_by(RightsRequest.lease_until)))


def pending_execution(session: Session, *, policy: RightsPolicy) -> list[RightsRequest]:
    """Approved requests waiting for a worker (those failing too often wait for the DPO)."""
    return list(session.scalars(select(RightsRequest).where(
        RightsRequest.state == "approved",
        RightsRequest.execution_attempts < policy.max_execution_attempts).order_by(RightsRequest.due_on)))


def _holds_lease(request: RightsRequest, worker: str) -> None:
    if request.state != "executing" or request.lease_owner != worker:
        raise LeaseLost(f"request {request.reference} is no longer held by {worker}")


def release(session: Session, request: RightsRequest, worker: str, error: str, *, policy: RightsPolicy,
            clock: Clock) -> None:
    """The execution failed: back to approved, the error kept for the DPO, to be retried."""
    _holds_lease(request, worker)
    request.last_error = error[:MAX_REASON_LENGTH]
    request.lease_owner = request.lease_until = None
    move(session, request, "approved", "request.execution_failed", actor=f"worker:{worker}", policy=policy,
         clock=clock, error=request.last_error, attempt=request.execution_attempts)


def finish(session: Session, request: RightsRequest, worker: str, *, answer: dict[str, Any],
           summary: dict[str, Any], policy: RightsPolicy, clock: Clock) -> None:
    """Store the answer and complete the request, if this worker still holds it."""
    _holds_lease(request, worker)
    now = now_utc(clock)
    request.answer = answer
    request.answer_expires_at = now + policy.answer_retention
    request.last_error = None
    move(session, request, "completed", "request.completed", actor=f"worker:{worker}", policy=policy,
         clock=clock, **summary)


def close_unverified(session: Session, *, policy: RightsPolicy, clock: Clock) -> list[str]:
    """Cancel requests whose subject never confirmed their identity within the allowed time."""
    cutoff = now_utc(clock) - policy.unverified_expiry
    stale = list(session.scalars(select(RightsRequest).where(RightsRequest.state == "awaiting_verification",
                                                             RightsRequest.received_at < cutoff)))
    for request in stale:
        cancel(session, request, actor="system", reason="identity never verified", policy=policy, clock=clock)
    return [r.reference for r in stale]


def purge_answers(session: Session, *, clock: Clock) -> list[str]:
    """Forget the copies of data held for downloads once their retention has passed (minimisation)."""
    now = now_utc(clock)
    expired = list(session.scalars(select(RightsRequest).where(RightsRequest.answer_expires_at < now)))
    for request in expired:
        request.answer = {k: v for k, v in (request.answer or {}).items() if k in ("letter", "summary")}
        request.answer_expires_at = None
        record(session, request, "request.answer_purged", actor="system", clock=clock)
    return [r.reference for r in expired]
