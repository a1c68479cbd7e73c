"""Telling the people concerned (Art. 34): who they are, the messages in their language, and the record of it."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from charte.breaches.annotations import email_field
from charte.breaches.counting import SystemDatabases
from charte.breaches.documents import check_subject_communication, letter_subject, render_subject_letter
from charte.breaches.facts import CLOCK_TOLERANCE, InvalidBreach
from charte.breaches.mail import MailMessage, MailSender, to_email
from charte.breaches.register import Breach, Communication, get_breach
from charte.ledger import append, utcnow
from charte.ledger.chain import Clock
from charte.manifest.models import Manifest
from charte.store.breaches import BreachCommunicationRow

#: Email to each person, a postal letter to each person, or a public communication (Art. 34(3)(c)).
CHANNELS: Final[tuple[str, ...]] = ("email", "letter", "public")


class InvalidRecipient(InvalidBreach):
    """An address the message could not be sent to; the message quotes the line, not the whole list."""


@dataclass(frozen=True)
class Recipient:
    """A person to tell: an email address and the language to write in."""

    email: str
    language: str


def _recipient(email: str, language: str, manifest: Manifest, where: str) -> Recipient:
    try:
        normalised = validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidRecipient(f"{where}: {exc}") from None
    lang = language.strip().lower()[:2]
    return Recipient(normalised, lang if lang in manifest.languages else manifest.default_language)


def read_recipients_csv(text: str, manifest: Manifest) -> list[Recipient]:
    """Recipients from CSV text with an ``email`` column and an optional ``language`` column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None or "email" not in [f.strip().lower() for f in reader.fieldnames]:
        raise InvalidRecipient("the recipients file needs a header line with an 'email' column")
    found = []
    for number, row in enumerate(reader, start=2):
        cells = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
        if cells.get("email", "").strip():
            found.append(_recipient(cells["email"], cells.get("language", ""), manifest, f"line {number}"))
    return unique_recipients(found)


def unique_recipients(recipients: Iterable[Recipient]) -> list[Recipient]:
    """Each address once (case-insensitive), the first language given wins."""
    seen: dict[str, Recipient] = {}
    for recipient in recipients:
        seen.setdefault(recipient.email.lower(), recipient)
    return list(seen.values())


def affected_recipients(breach: Breach, manifest: Manifest, databases: SystemDatabases,
                        manifest_dir: Path | None = None) -> list[Recipient]:
    """The people of the breach's collections whose email the dataset annotations name, in the default language."""
    found = []
    for collection in breach.facts.collections:
        field = email_field(manifest, collection, manifest_dir) if collection.holds_subjects else None
        if field is None:
            continue
        for value in databases.distinct_values(collection.system, collection.collection, field):
            try:
                found.append(_recipient(value, manifest.default_language, manifest, collection.label))
            except InvalidRecipient:
                continue  # a malformed address in the system cannot be written to; it is not counted as told
    return unique_recipients(found)


def subject_messages(breach: Breach, manifest: Manifest, recipients: Sequence[Recipient]) -> list[MailMessage]:
    """One message per person, in their language; refused unless Art. 34 requires telling them."""
    check_subject_communication(breach)
    bodies = {lang: (render_subject_letter(breach, manifest, lang, "text"),
                     render_subject_letter(breach, manifest, lang, "html"))
              for lang in {r.language for r in recipients}}
    return [MailMessage(recipient=r.email, subject=letter_subject(manifest, r.language), body=bodies[r.language][0],
                        html=bodies[r.language][1], language=r.language, sender=manifest.dpo.email)
            for r in recipients]


def record_communication(session: Session, breach_id: int, *, channel: str, informed_at: datetime,
                         recipients_count: int, languages: dict[str, int], actor: str, note: str | None = None,
                         clock: Clock = utcnow) -> Communication:
    """Record that people were told, and append ``breach.subjects_informed``, in the caller's transaction."""
    now = clock()
    breach = get_breach(session, breach_id)
    if channel not in CHANNELS:
        raise InvalidBreach(f"channel must be one of {', '.join(CHANNELS)}")
    if informed_at.tzinfo is None:
        raise InvalidBreach("informed_at has no timezone")
    if informed_at > now + CLOCK_TOLERANCE:
        raise InvalidBreach("people cannot be recorded as told before it happens")
    if recipients_count < 0:
        raise InvalidBreach("recipients_count cannot be negative")
    if channel != "public" and recipients_count == 0:
        raise InvalidBreach("no one to tell: give the recipients")
    version = breach.current.version
    session.add(BreachCommunicationRow(breach_id=breach_id, channel=channel, informed_at=informed_at,
                                       recorded_at=now, recorded_by=actor, version=version,
                                       recipients_count=recipients_count, languages=languages, note=note))
    append(session, "breach.subjects_informed", {
        "breach": breach.reference, "channel": channel, "informed_at": informed_at.isoformat(),
        "recipients_count": recipients_count, "languages": languages, "version": version,
    }, actor=actor, clock=clock)
    session.flush()
    return Communication(channel, informed_at, now, actor, version, recipients_count, languages, note)


def inform_subjects(session: Session, manifest: Manifest, breach_id: int, recipients: Sequence[Recipient],
                    sender: MailSender, *, actor: str, clock: Clock = utcnow) -> Communication:
    """Send the Art. 34 letter to each person through ``sender`` and record it (never the addresses themselves)."""
    # The record is written first and the messages sent last: a failure to send rolls the record back with the
    # caller's transaction.
    breach = get_breach(session, breach_id)
    people = unique_recipients(recipients)
    if not people:
        raise InvalidRecipient("no recipients: nobody would be told")
    messages = subject_messages(breach, manifest, people)
    languages = dict(sorted(Counter(m.language for m in messages).items()))
    communication = record_communication(session, breach_id, channel="email", informed_at=clock(),
                                         recipients_count=len(messages), languages=languages, actor=actor,
                                         clock=clock)
    for message in messages:
        sender.send(to_email(message, clock=clock))
    return communication
