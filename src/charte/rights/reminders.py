"""What is late or close to its due date, and the DPO's reminder (idempotent: each reminder is sent once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charte.ledger import append
from charte.ledger.chain import Clock
from charte.rights.deadlines import days_left, local_date
from charte.rights.letters import right_name
from charte.rights.notices import Outgoing, ReminderLine, queue_dpo_reminder
from charte.rights.policy import RightsPolicy
from charte.rights.requests import current_due, now_utc
from charte.rights.states import OPEN, WAITING_FOR_SUBJECT
from charte.store.rights import DeadlineReminder, RightsRequest


@dataclass(frozen=True)
class DueRequest:
    """An open request with its due date as of today."""

    request: RightsRequest
    due_on: date
    days_left: int
    paused: bool

    @property
    def late(self) -> bool:
        """Whether the due date has passed."""
        return self.days_left < 0


def due_within(session: Session, *, within: timedelta, policy: RightsPolicy, clock: Clock) -> list[DueRequest]:
    """Open requests due within ``within`` from today (late ones included), soonest first."""
    now = now_utc(clock)
    today = local_date(now, policy.timezone)
    horizon = today + timedelta(days=within.days)
    found = []
    for request in session.scalars(select(RightsRequest).where(RightsRequest.state.in_(sorted(OPEN)))
                                   .order_by(RightsRequest.due_on)):
        due = current_due(request, policy, now)
        if due <= horizon:
            found.append(DueRequest(request, due, days_left(due, today), request.state in WAITING_FOR_SUBJECT))
    return sorted(found, key=lambda d: (d.due_on, d.request.id))


def reminder_kind(left: int, policy: RightsPolicy) -> str | None:
    """Which reminder a request ``left`` days from its due date deserves: overdue, due_in_N, or none."""
    if left < 0:
        return "overdue"
    thresholds = sorted(d for d in policy.reminder_days if left <= d)
    return f"due_in_{thresholds[0]}" if thresholds else None


def remind_dpo(session: Session, out: Outgoing, *, policy: RightsPolicy, clock: Clock) -> list[ReminderLine]:
    """Mail the DPO one digest of the requests newly late or close; running it again the same day sends nothing.

    Requests waiting for the subject are left out: their clock is suspended.
    """
    horizon = timedelta(days=max(policy.reminder_days, default=0))
    lines = []
    for due in due_within(session, within=horizon, policy=policy, clock=clock):
        kind = reminder_kind(due.days_left, policy)
        if kind is None or due.paused:
            continue
        try:
            # One row per request, kind and due date: a concurrent or repeated run finds it and stays silent.
            with session.begin_nested():
                session.add(DeadlineReminder(request_id=due.request.id, kind=kind, due_on=due.due_on,
                                             sent_at=now_utc(clock)))
                session.flush()
        except IntegrityError:
            continue
        lang = out.manifest.default_language
        lines.append(ReminderLine(due.request.reference, right_name(out.manifest, due.request.request_type, lang),
                                  due.request.state, due.due_on, due.days_left))
    if lines:
        queue_dpo_reminder(session, out, lines)
        append(session, "rights.dpo_reminded", {"references": [line.reference for line in lines],
                                                "late": sum(1 for line in lines if line.days_left < 0)},
               actor="system:reminder", clock=clock)
    return lines
