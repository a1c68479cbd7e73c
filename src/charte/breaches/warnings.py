"""Warning the DPO as the 72-hour deadline approaches (48 h and 24 h left) and when it passes; each warning once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from charte.breaches.clock import crossed_thresholds
from charte.breaches.mail import MailMessage, MailSender, to_email
from charte.breaches.register import list_breaches
from charte.breaches.texts import format_instant, format_time_left
from charte.ledger import append
from charte.manifest.models import Manifest
from charte.render.formatting import language
from charte.store.breaches import BreachWarningRow

#: Who the ledger names for warnings: the periodic job, not a person.
WARNING_ACTOR = "job:breach-clock"


@dataclass(frozen=True)
class DueWarning:
    """A warning just recorded for one breach."""

    breach_id: int
    reference: str
    title: str
    threshold_hours: int
    deadline: datetime
    time_left: timedelta


def due_warnings(session: Session, now: datetime) -> list[DueWarning]:
    """Record the warnings due at ``now`` and return them; run again, it records nothing new (idempotent)."""
    # One warning per threshold reached (48 h, 24 h, deadline). When several are reached at once (the breach was
    # recorded late) only the most urgent is issued; the others are recorded as superseded so they never fire.
    # Two runners at once cannot both warn: (breach, threshold) is unique, the loser's transaction fails.
    issued = []
    for breach in sorted(list_breaches(session), key=lambda b: b.id):
        if not breach.clock_running:
            continue
        already = {w.threshold_hours for w in breach.warnings}
        new = [h for h in crossed_thresholds(breach.facts.aware_at, now) if h not in already]
        if not new:
            continue
        urgent = min(new)
        left = breach.time_left(now)
        for threshold in new:
            session.add(BreachWarningRow(breach_id=breach.id, threshold_hours=threshold, warned_at=now,
                                         seconds_left=int(left.total_seconds()), superseded=threshold != urgent))
        append(session, "breach.warning", {
            "breach": breach.reference, "threshold_hours": urgent, "seconds_left": int(left.total_seconds()),
            "deadline": breach.deadline.isoformat(), "superseded": sorted(h for h in new if h != urgent),
        }, actor=WARNING_ACTOR, clock=lambda: now)
        issued.append(DueWarning(breach.id, breach.reference, breach.facts.title, urgent, breach.deadline, left))
    session.flush()
    return issued


def warning_message(warning: DueWarning, manifest: Manifest, lang: str | None = None) -> MailMessage:
    """The message to the DPO for one warning, in the manifest's default language unless told."""
    lg = language(lang or manifest.default_language)
    left = format_time_left(warning.time_left, lg)
    deadline = format_instant(warning.deadline, lg)
    if lg == "fr":
        subject = f"[Charte] Violation {warning.reference} : {left}"
        body = (f"Violation {warning.reference} — {warning.title}\n\n"
                f"La notification à la {manifest.supervisory_authority.name} est due le {deadline} ({left}).\n"
                "Au-delà de 72 heures, la notification doit être accompagnée des motifs du retard (art. 33.1 RGPD).\n")
    else:
        subject = f"[Charte] Breach {warning.reference}: {left}"
        body = (f"Breach {warning.reference} — {warning.title}\n\n"
                f"The notification to the {manifest.supervisory_authority.name} is due on {deadline} ({left}).\n"
                "After 72 hours it must be accompanied by the reasons for the delay (GDPR Art. 33(1)).\n")
    return MailMessage(recipient=manifest.dpo.email, subject=subject, body=body, language=lg,
                       sender=manifest.dpo.email)


def warn_dpo(session: Session, manifest: Manifest, sender: MailSender, now: datetime) -> Sequence[DueWarning]:
    """Record the due warnings and mail each to the DPO (the periodic job's whole task)."""
    warnings = due_warnings(session, now)
    for warning in warnings:
        sender.send(to_email(warning_message(warning, manifest), clock=lambda: now))
    return warnings
