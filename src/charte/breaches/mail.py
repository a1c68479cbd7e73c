"""Outgoing mail as the breach register needs it: messages, the sender protocol, and the workspace outbox.

The mail service proper (SMTP through ``CHARTE_SMTP_URL``) arrives with the data-subject rights issue; until then,
and in the embedded setup by default, messages are written as RFC 5322 ``.eml`` files in the workspace's
``outbox/`` folder. :class:`MailSender` has the same shape as the mail service's sender (``send(EmailMessage)``),
so its SMTP sender can be passed wherever an :class:`OutboxSender` is today.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from charte.ledger import utcnow
from charte.ledger.chain import Clock


@dataclass(frozen=True)
class MailMessage:
    """One message to one recipient, in the recipient's language."""

    recipient: str
    subject: str
    body: str
    language: str
    sender: str
    html: str | None = None


class MailSender(Protocol):
    """Delivers one finished message or raises."""

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its recipients."""
        ...


def to_email(message: MailMessage, *, clock: Clock = utcnow) -> EmailMessage:
    """The message as an RFC 5322 email: plain text, with an HTML alternative when given."""
    email = EmailMessage()
    email["From"] = message.sender
    email["To"] = message.recipient
    # Header values never span lines, whatever a form put in them.
    email["Subject"] = " ".join(message.subject.split())
    email["Date"] = format_datetime(clock())
    email["Message-ID"] = make_msgid(domain=message.sender.rpartition("@")[2].strip(" >") or "localhost")
    # RFC 3834: an automatic message, so auto-responders do not answer it.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body, charset="utf-8")
    if message.html is not None:
        email.add_alternative(message.html, subtype="html", charset="utf-8")
    # Set last: making the message multipart moves every Content-* header into its first part.
    email["Content-Language"] = message.language
    return email


class OutboxSender:
    """A :class:`MailSender` writing each message as an ``.eml`` file in a folder (the workspace outbox)."""

    def __init__(self, folder: Path, *, clock: Clock = utcnow) -> None:
        self.folder = folder
        self.clock = clock

    def __repr__(self) -> str:
        return f"OutboxSender({self.folder})"

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically (temporary file, then rename), readable by the owner only."""
        self.folder.mkdir(parents=True, exist_ok=True)
        # Same naming as the mail service's outbox, so its reader lists these messages too.
        target = self.folder / f"{self.clock().strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex}.eml"
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes(policy=SMTP))
            os.chmod(temporary, 0o600)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def outbox_folder(home: Path) -> Path:
    """The outbox of a workspace: ``HOME/outbox``."""
    return home / "outbox"
