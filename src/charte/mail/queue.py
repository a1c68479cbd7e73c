"""The mail queue: a message is queued in the transaction of the change it reports and sent after commit.

A rolled-back change therefore never sends mail, and a crash between commit and sending loses nothing: the next
``deliver_pending`` (after each web request, from the CLI, or from the jobs) sends what is due. Delivery is at
least once: a sender killed after handing a message over but before recording it sends it again.
"""

from __future__ import annotations

import email
import email.policy
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from charte.ledger import append, utcnow
from charte.ledger.chain import Clock
from charte.mail.senders import MailDeliveryError, MailSender
from charte.store import transaction
from charte.store.mail import QueuedMail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
CLAIM = timedelta(minutes=5)
_KEPT_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "Content-Language")


@dataclass
class DeliveryReport:
    """What one delivery round did."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def enqueue(session: Session, message: EmailMessage, *, purpose: str, reference: str | None = None,
            subject_ref: str | None = None, clock: Clock = utcnow) -> QueuedMail:
    """Queue ``message`` in the caller's transaction; it is sent only if that transaction commits."""
    now = clock().astimezone(UTC)
    queued = QueuedMail(message_id=str(message["Message-ID"]), purpose=purpose, reference=reference,
                        subject_ref=subject_ref, raw=message.as_string(policy=email.policy.default),
                        status="pending", attempts=0, next_attempt_at=now, created_at=now)
    session.add(queued)
    session.flush()
    return queued


def pending_count(session: Session) -> int:
    """How many messages wait to be sent (including those being retried)."""
    return session.scalar(select(func.count()).select_from(QueuedMail).where(
        QueuedMail.status.in_(("pending", "sending")))) or 0


def _due_ids(factory: sessionmaker[Session], now: datetime, limit: int) -> list[int]:
    with factory() as session:
        return list(session.scalars(
            select(QueuedMail.id).where(or_(
                (QueuedMail.status == "pending") & (QueuedMail.next_attempt_at <= now),
                # A sender that died mid-delivery left its claim behind; it expires.
                (QueuedMail.status == "sending") & (QueuedMail.claimed_until < now),
            )).order_by(QueuedMail.id).limit(limit)))


def _claim(factory: sessionmaker[Session], mail_id: int, now: datetime) -> QueuedMail | None:
    # A conditional update: of several processes delivering at once, exactly one gets each message.
    with transaction(factory) as session:
        claimed = cast(CursorResult[Any], session.execute(
            update(QueuedMail)
            .where(QueuedMail.id == mail_id)
            .where(or_((QueuedMail.status == "pending") & (QueuedMail.next_attempt_at <= now),
                       (QueuedMail.status == "sending") & (QueuedMail.claimed_until < now)))
            .values(status="sending", claimed_until=now + CLAIM)
            .execution_options(synchronize_session=False)
        )).rowcount
        return session.get(QueuedMail, mail_id) if claimed == 1 else None


def _headers_only(raw: str) -> str:
    parsed = email.message_from_string(raw, policy=email.policy.default)
    return "".join(f"{name}: {parsed[name]}\n" for name in _KEPT_HEADERS if parsed[name] is not None)


def _record_sent(factory: sessionmaker[Session], mail_id: int, clock: Clock) -> None:
    with transaction(factory) as session:
        queued = session.get(QueuedMail, mail_id)
        if queued is None:
            return
        queued.status, queued.sent_at, queued.claimed_until = "sent", clock(), None
        queued.attempts += 1
        # The body may hold a one-time code or personal data: once delivered, only the headers stay.
        queued.raw = _headers_only(queued.raw)
        append(session, "mail.delivered", {"message_id": queued.message_id, "purpose": queued.purpose,
                                           "reference": queued.reference},
               actor="system:mail", subject=queued.subject_ref, clock=clock)


def _record_failure(factory: sessionmaker[Session], mail_id: int, error: str, clock: Clock) -> bool:
    """Count a failed attempt; return True when the message is given up."""
    with transaction(factory) as session:
        queued = session.get(QueuedMail, mail_id)
        if queued is None:
            return True
        queued.attempts += 1
        queued.last_error = error[:2000]
        queued.claimed_until = None
        if queued.attempts >= MAX_ATTEMPTS:
            queued.status = "failed"
            append(session, "mail.failed", {"message_id": queued.message_id, "purpose": queued.purpose,
                                            "reference": queued.reference, "attempts": queued.attempts},
                   actor="system:mail", subject=queued.subject_ref, clock=clock)
            return True
        queued.status = "pending"
        # Back off: 1, 2, 4, 8, 16 minutes.
        queued.next_attempt_at = clock().astimezone(UTC) + timedelta(minutes=2 ** (queued.attempts - 1))
        return False


def deliver_pending(factory: sessionmaker[Session], sender: MailSender, *, clock: Clock = utcnow,
                    limit: int = 100) -> DeliveryReport:
    """Send the messages that are due, each claimed first so concurrent deliverers never both send it."""
    report = DeliveryReport()
    now = clock().astimezone(UTC)
    for mail_id in _due_ids(factory, now, limit):
        queued = _claim(factory, mail_id, now)
        if queued is None:
            continue
        message = email.message_from_string(queued.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        try:
            sender.send(message)
        except MailDeliveryError as exc:
            logger.warning("mail %s not delivered: %s", queued.message_id, exc)
            gave_up = _record_failure(factory, mail_id, str(exc), clock)
            (report.failed if gave_up else report.retrying).append(queued.message_id)
            continue
        _record_sent(factory, mail_id, clock)
        report.sent.append(queued.message_id)
    return report


def queued_messages(session: Session, reference: str) -> list[QueuedMail]:
    """The messages queued for one reference (a request), oldest first."""
    return list(session.scalars(select(QueuedMail).where(QueuedMail.reference == reference)
                                .order_by(QueuedMail.id)))


def parse_queued(queued: QueuedMail) -> EmailMessage:
    """A queued message as an :class:`EmailMessage` (only headers once it has been sent)."""
    parsed = email.message_from_string(queued.raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed
