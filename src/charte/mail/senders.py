"""Where mail goes: an SMTP server (``CHARTE_SMTP_URL``) or, in the embedded setup, ``.eml`` files in an outbox."""

from __future__ import annotations

import email
import email.policy
import os
import re
import smtplib
import ssl
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

from charte.config import Settings

_OUTBOX_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{32}\.eml$")
_TRUE = {"1", "true", "yes", "on"}


class MailDeliveryError(Exception):
    """The message could not be handed over; the text never contains credentials."""


@runtime_checkable
class MailSender(Protocol):
    """Something that delivers a finished message, or raises :class:`MailDeliveryError`."""

    def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to its recipients."""
        ...


@dataclass(frozen=True)
class _SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None
    timeout: float


def _parse_smtp_url(url: str) -> _SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("CHARTE_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("CHARTE_SMTP_URL has no host")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    implicit = parts.scheme == "smtps"
    starttls = not implicit and query.get("starttls", "false").lower() in _TRUE
    return _SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 587 if starttls else 25),
        implicit_tls=implicit,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=float(query.get("timeout", "30")),
    )


class SmtpSender:
    """Delivers through an SMTP server: ``smtp://[user:pass@]host[:port][?starttls=true]`` or ``smtps://``."""

    def __init__(self, url: str, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._target = _parse_smtp_url(url)
        self._ssl = ssl_context or ssl.create_default_context()

    def __repr__(self) -> str:
        # The URL may carry a password: describe the target without it.
        t = self._target
        scheme = "smtps" if t.implicit_tls else "smtp"
        user = f"{t.username}:***@" if t.username else ""
        return f"SmtpSender({scheme}://{user}{t.host}:{t.port}{'?starttls=true' if t.starttls else ''})"

    def send(self, message: EmailMessage) -> None:
        """Open a connection, authenticate if asked, hand the message over, close."""
        t = self._target
        try:
            client: smtplib.SMTP
            if t.implicit_tls:
                client = smtplib.SMTP_SSL(t.host, t.port, timeout=t.timeout, context=self._ssl)
            else:
                client = smtplib.SMTP(t.host, t.port, timeout=t.timeout)
            with client:
                client.ehlo()
                if t.starttls:
                    client.starttls(context=self._ssl)
                    client.ehlo()
                if t.username is not None:
                    client.login(t.username, t.password or "")
                client.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise MailDeliveryError(f"{self!r}: authentication refused") from None
        except (smtplib.SMTPException, OSError) as exc:
            # smtplib's messages quote the server, never the password; keep only the class and the reply.
            raise MailDeliveryError(f"{self!r}: {exc.__class__.__name__}: {exc}") from None


class OutboxSender:
    """Writes each message as an RFC 5322 ``.eml`` file into a folder (the embedded default)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"OutboxSender({self.folder})"

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically (temporary file, then rename), readable by the owner only."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            target = self.folder / f"{stamp}-{uuid.uuid4().hex}.eml"
            data = message.as_bytes(policy=email.policy.SMTP)
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.chmod(temporary, 0o600)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise MailDeliveryError(f"{self!r}: {exc}") from None


def sender_from_settings(settings: Settings) -> MailSender:
    """SMTP when ``CHARTE_SMTP_URL`` is set, else the outbox folder ``HOME/outbox``."""
    if settings.smtp_url is not None and settings.smtp_url.get_secret_value():
        return SmtpSender(settings.smtp_url.get_secret_value())
    return OutboxSender(settings.home / "outbox")


@dataclass(frozen=True)
class OutboxEntry:
    """A message in the outbox folder, as the dashboard lists it."""

    name: str
    sent_at: datetime | None
    to: str
    subject: str
    body: str


def _entry(path: Path) -> OutboxEntry:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body(preferencelist=("plain",))
    body = part.get_content() if isinstance(part, EmailMessage) else ""
    try:
        sent = parsedate_to_datetime(str(parsed["Date"])) if parsed["Date"] else None
    except (TypeError, ValueError):
        sent = None
    return OutboxEntry(path.name, sent, str(parsed["To"] or ""), str(parsed["Subject"] or ""), str(body))


def read_outbox(folder: Path, *, limit: int = 100) -> list[OutboxEntry]:
    """The newest ``limit`` messages of an outbox folder."""
    if not folder.is_dir():
        return []
    # Names start with the second of writing; the modification time orders messages of the same second.
    paths = sorted((p for p in folder.iterdir() if _OUTBOX_NAME.match(p.name)),
                   key=lambda p: (p.name[:15], p.stat().st_mtime_ns), reverse=True)
    return [_entry(path) for path in paths[:limit]]


def read_outbox_message(folder: Path, name: str) -> OutboxEntry | None:
    """One message by file name; names that are not outbox files (``../x``) are never opened."""
    if not _OUTBOX_NAME.match(name) or not (folder / name).is_file():
        return None
    return _entry(folder / name)
