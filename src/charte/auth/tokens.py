"""API tokens for machine clients: shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from charte.ledger import append, utcnow
from charte.ledger.chain import Clock
from charte.store import transaction
from charte.store.models import AdminUser, ApiToken

TOKEN_KIND = "chrt"  # noqa: S105 - a public marker that lets secret scanners spot leaked tokens
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,119}$")
_SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
# chrt_<8 hex>_<43 url-safe>: the prefix has no "_" so the token splits unambiguously.
_USE_RESOLUTION = timedelta(minutes=1)
_TOKEN = re.compile(r"^chrt_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


class InvalidToken(Exception):
    """The token is malformed, unknown or revoked; deliberately not told apart."""


class TokenExists(ValueError):
    """A token with this name already exists."""


class UnknownToken(LookupError):
    """No token has this name."""


def digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _check_scopes(scopes: Iterable[str]) -> list[str]:
    checked = sorted(set(scopes))
    for scope in checked:
        if not _SCOPE.match(scope):
            raise ValueError(f"invalid scope {scope!r}: lower-case letters, digits and . _ : - only")
    return checked


def create_token(session: Session, name: str, scopes: Iterable[str], *, created_by: AdminUser | None,
                 clock: Clock = utcnow, actor: str | None = None) -> tuple[ApiToken, str]:
    """A new token and its clear value, which exists only in this return value."""
    name = name.strip()
    if not _NAME.match(name):
        raise ValueError("a token name has 1 to 120 letters, digits, spaces, dots, dashes or underscores")
    checked = _check_scopes(scopes)
    if session.scalars(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise TokenExists(f"a token named {name!r} already exists")
    prefix = secrets.token_hex(4)
    clear = f"{TOKEN_KIND}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(name=name, token_hash=digest(clear), prefix=prefix, scopes=checked,
                     created_by=created_by.id if created_by else None, created_at=clock())
    session.add(token)
    session.flush()
    who = actor or (f"admin:{created_by.username}" if created_by else "system")
    append(session, "api_token.created", {"name": name, "prefix": prefix, "scopes": checked}, actor=who,
           clock=clock)
    return token, clear


def authenticate_token(session: Session, token: str, *, clock: Clock = utcnow) -> ApiToken:
    """The live token matching ``token``, its last use updated; else raise :class:`InvalidToken`."""
    if not _TOKEN.match(token):
        raise InvalidToken("invalid API token")
    hashed = digest(token)
    found = session.scalars(select(ApiToken).where(ApiToken.token_hash == hashed)).first()
    # The lookup is by digest, which an attacker cannot steer; compare again anyway at constant time.
    if found is None or not hmac.compare_digest(found.token_hash, hashed) or found.revoked_at is not None:
        raise InvalidToken("invalid API token")
    now = clock()
    # Record use at most once a minute: a write on every request would serialise a busy SQLite store.
    last = found.last_used_at
    if last is None or now - (last if last.tzinfo else last.replace(tzinfo=UTC)) >= _USE_RESOLUTION:
        found.last_used_at = now
    return found


def revoke_token(session: Session, name: str, *, actor: str, clock: Clock = utcnow) -> ApiToken:
    """Refuse the token from now on; revoking twice records nothing more."""
    token = session.scalars(select(ApiToken).where(ApiToken.name == name.strip())).first()
    if token is None:
        raise UnknownToken(f"no token named {name.strip()!r}")
    if token.revoked_at is None:
        token.revoked_at = clock()
        append(session, "api_token.revoked", {"name": token.name, "prefix": token.prefix}, actor=actor,
               clock=clock)
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first (digests included; never show them)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


@dataclass(frozen=True)
class TokenGrant:
    """What a verified token is and allows, detached from any session."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]


class TokenCache:
    """Verified tokens remembered for ``ttl`` seconds, so a busy integration costs no store trip per request.

    A token revoked elsewhere (the CLI, another server) is refused here at most ``ttl`` seconds later; one revoked
    through this process is forgotten at once (:meth:`forget`). Unknown and revoked tokens are never remembered,
    so the cache holds at most one entry per live token. ``ttl=0`` asks the store every time.
    """

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 5.0, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if ttl < 0:
            raise ValueError("the token cache lifetime cannot be negative")
        self._sessions = sessions
        self._ttl = ttl
        self._monotonic = monotonic
        self._entries: dict[str, tuple[float, TokenGrant]] = {}
        self._lock = threading.Lock()

    def authenticate(self, token: str) -> TokenGrant:
        """The grant of the live token ``token``; else raise :class:`InvalidToken`."""
        if not _TOKEN.match(token):
            raise InvalidToken("invalid API token")
        hashed = digest(token)
        now = self._monotonic()
        entry = self._entries.get(hashed)
        if entry is not None and entry[0] > now:
            return entry[1]
        with transaction(self._sessions) as session:
            found = authenticate_token(session, token)
            grant = TokenGrant(found.id, found.name, found.prefix, tuple(found.scopes))
        if self._ttl:
            with self._lock:
                self._entries[hashed] = (now + self._ttl, grant)
        return grant

    def fresh(self, token: str) -> bool:
        """Whether :meth:`authenticate` would answer ``token`` from memory, without the store."""
        entry = self._entries.get(digest(token))
        return entry is not None and entry[0] > self._monotonic()

    def forget(self, name: str | None = None) -> None:
        """Drop the token called ``name`` (every token when None): its next use asks the store again."""
        with self._lock:
            if name is None:
                self._entries.clear()
            else:
                self._entries = {h: e for h, e in self._entries.items() if e[1].name != name}
