"""Notifying the supervisory authority (Art. 33): the initial submission, complementary ones, and late reasons."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from charte.breaches.clock import is_late
from charte.breaches.documents import Phase, document_sha256, render_cnil_draft
from charte.breaches.facts import CLOCK_TOLERANCE, InvalidBreach
from charte.breaches.register import Notification, get_breach
from charte.ledger import append, utcnow
from charte.ledger.chain import Clock
from charte.manifest.models import Manifest
from charte.store.breaches import BreachNotificationRow

PHASES: tuple[Phase, ...] = ("initial", "complementary")


class ReasonsForDelayRequired(InvalidBreach):
    """Art. 33(1): a notification made after 72 hours must be accompanied by the reasons for the delay."""


class AlreadyNotified(InvalidBreach):
    """The initial notification was already submitted; further information is a complementary notification."""


class InitialNotificationMissing(InvalidBreach):
    """A complementary notification completes an initial one, which has not been submitted."""


def record_notification(session: Session, manifest: Manifest, breach_id: int, *, phase: Phase,
                        submitted_at: datetime, actor: str, delay_reasons: str | None = None,
                        authority_reference: str | None = None, clock: Clock = utcnow) -> Notification:
    """Record a submission to the authority and append ``breach.notified``; late initial ones need reasons."""
    now = clock()
    breach = get_breach(session, breach_id)
    if phase not in PHASES:
        raise InvalidBreach(f"phase must be one of {', '.join(PHASES)}")
    if submitted_at.tzinfo is None:
        raise InvalidBreach("submitted_at has no timezone")
    if submitted_at > now + CLOCK_TOLERANCE:
        raise InvalidBreach("a notification cannot be recorded before it is submitted")
    if submitted_at < breach.facts.aware_at:
        raise InvalidBreach("a notification cannot precede the awareness of the breach")
    initial = breach.initial_notification
    if phase == "initial" and initial is not None:
        raise AlreadyNotified(f"{breach.reference} was notified on {initial.submitted_at.isoformat()}; "
                              "send a complementary notification")
    if phase == "complementary" and initial is None:
        raise InitialNotificationMissing(f"{breach.reference} has no initial notification yet")
    reasons = (delay_reasons or "").strip() or None
    late = is_late(breach.facts.aware_at, submitted_at) if phase == "initial" else initial is not None and initial.late
    if phase == "initial" and late and reasons is None:
        raise ReasonsForDelayRequired(
            f"{breach.reference}: notified {_hours_after(breach.facts.aware_at, submitted_at)} hours after awareness; "
            "Art. 33(1) requires the reasons for the delay")
    document = render_cnil_draft(breach, manifest, at=submitted_at, phase=phase, delay_reasons=reasons,
                                 authority_reference=authority_reference)
    digest = document_sha256(document)
    version = breach.current.version
    stored_reasons = reasons if phase == "initial" else None
    session.add(BreachNotificationRow(
        breach_id=breach_id, phase=phase, submitted_at=submitted_at, recorded_at=now, recorded_by=actor,
        version=version, authority_reference=authority_reference, late=late, delay_reasons=stored_reasons,
        document_sha256=digest))
    append(session, "breach.notified", {
        "breach": breach.reference, "phase": phase, "submitted_at": submitted_at.isoformat(), "late": late,
        "delay_reasons_given": reasons is not None, "authority_reference": authority_reference,
        "version": version, "document_sha256": digest,
    }, actor=actor, clock=clock)
    session.flush()
    return Notification(phase, submitted_at, now, actor, version, authority_reference, late, stored_reasons, digest)


def _hours_after(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 3600)
