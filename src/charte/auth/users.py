"""Dashboard users, their roles, and login with a limit on guessing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, get_args

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from charte.auth.passwords import (
    check_password_policy,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from charte.config import Settings
from charte.ledger import append, utcnow
from charte.ledger.chain import Clock
from charte.store.models import AdminUser, LoginAttempt

Role = Literal["admin", "dpo", "auditor"]
#: ``admin`` manages users and tokens; ``dpo`` runs the privacy work; ``auditor`` only reads.
ROLES: Final[tuple[Role, ...]] = get_args(Role)

logger = logging.getLogger(__name__)

_USERNAME_MAX = 120
_ADDRESS_MAX = 64


class AuthError(Exception):
    """Base of every refusal to authenticate."""


class InvalidCredentials(AuthError):
    """Unknown user, inactive user or wrong password; deliberately not told apart."""


class TooManyAttempts(AuthError):
    """Too many recent failures for this account or address; the password was not checked."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


class UnknownRole(ValueError):
    """The role is not one of :data:`ROLES`."""


class UserExists(ValueError):
    """A user with this username already exists."""


class UnknownUser(LookupError):
    """No user has this username."""


@dataclass(frozen=True)
class LoginLimits:
    """How many failures are tolerated per account and per address within a sliding window."""

    max_failures: int = 5
    window_seconds: int = 15 * 60

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        """The limits configured by ``CHARTE_LOGIN_*``."""
        return cls(settings.login_max_failures, settings.login_window_seconds)


def normalise_username(username: str) -> str:
    """The stored form of a username: trimmed and lower-case, so ``Alice`` and ``alice `` are one account."""
    return username.strip().lower()


def _actor(user: AdminUser) -> str:
    return f"admin:{user.username}"


def _as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise UnknownRole(f"unknown role {role!r}; one of: {', '.join(ROLES)}")
    return role


def _get(session: Session, username: str) -> AdminUser | None:
    name = normalise_username(username)
    return session.scalars(select(AdminUser).where(AdminUser.username == name)).first()


def create_user(session: Session, username: str, password: str, role: str, *, actor: str,
                clock: Clock = utcnow) -> AdminUser:
    """Add a dashboard user; the ledger records who, with which role, never the password."""
    name = normalise_username(username)
    if not name or len(name) > _USERNAME_MAX or any(c.isspace() for c in name):
        raise ValueError(f"a username has 1 to {_USERNAME_MAX} characters and no spaces")
    checked_role = _check_role(role)
    check_password_policy(password, username=name)
    if _get(session, name) is not None:
        raise UserExists(f"user {name!r} already exists")
    user = AdminUser(username=name, password_hash=hash_password(password), role=checked_role, active=True,
                     created_at=clock())
    session.add(user)
    session.flush()
    append(session, "admin.user_created", {"username": name, "role": checked_role}, actor=actor, clock=clock)
    return user


def set_password(session: Session, username: str, password: str, *, actor: str,
                 clock: Clock = utcnow) -> AdminUser:
    """Replace a user's password and forget their failed logins."""
    user = _get(session, username)
    if user is None:
        raise UnknownUser(f"no user {normalise_username(username)!r}")
    check_password_policy(password, username=user.username)
    user.password_hash = hash_password(password)
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == user.username))
    append(session, "admin.password_changed", {"username": user.username}, actor=actor, clock=clock)
    return user


def deactivate_user(session: Session, username: str, *, actor: str, clock: Clock = utcnow) -> AdminUser:
    """Stop a user from logging in; the row stays so the ledger's references keep their meaning."""
    user = _get(session, username)
    if user is None:
        raise UnknownUser(f"no user {normalise_username(username)!r}")
    if user.active:
        user.active = False
        append(session, "admin.user_deactivated", {"username": user.username}, actor=actor, clock=clock)
    return user


def list_users(session: Session) -> list[AdminUser]:
    """Every user, active or not, by username."""
    return list(session.scalars(select(AdminUser).order_by(AdminUser.username)))


def active_user(session: Session, user_id: int) -> AdminUser | None:
    """The user with this id if they may still use the dashboard."""
    user = session.get(AdminUser, user_id)
    return user if user is not None and user.active else None


def _retry_after(session: Session, username: str, address: str, limits: LoginLimits, now: datetime) -> int:
    """Seconds until the oldest counted failure leaves the window, or 0 when not locked out."""
    since = now - timedelta(seconds=limits.window_seconds)
    retry = 0
    for column, value in ((LoginAttempt.username, username), (LoginAttempt.address, address)):
        recent = (column == value, LoginAttempt.attempted_at > since)
        count = session.scalar(select(func.count()).select_from(LoginAttempt).where(*recent)) or 0
        if count >= limits.max_failures:
            # The lock lifts when enough failures age out to fall below the limit.
            stamps = session.scalars(select(LoginAttempt.attempted_at).where(*recent))
            times = sorted(_as_utc(t) for t in stamps)
            unlock = times[count - limits.max_failures] + timedelta(seconds=limits.window_seconds)
            retry = max(retry, max(1, int((unlock - now).total_seconds()) + 1))
    return retry


def authenticate(session: Session, username: str, password: str, address: str, *,
                 limits: LoginLimits = LoginLimits(), clock: Clock = utcnow) -> AdminUser:
    """The active user whose password matches; else raise InvalidCredentials or TooManyAttempts.

    A failure is written to ``session`` before raising: the caller must commit it, or the limit forgets it.
    A refusal for too many failures writes nothing.
    """
    name = normalise_username(username)[:_USERNAME_MAX]
    address = address[:_ADDRESS_MAX]
    now = clock().astimezone(UTC)  # SQLite keeps no offset: store and compare in UTC only.
    retry = _retry_after(session, name, address, limits, now)
    if retry:
        # Not in the ledger: it is append-only, so a flood of refused guesses would grow it for ever.
        logger.warning("login refused without checking the password: too many failures (user %r)", name)
        raise TooManyAttempts(retry)
    user = _get(session, name)
    # Verify even when the user is unknown or inactive, so the response time does not say which.
    matches = verify_password(user.password_hash if user else dummy_hash(), password)
    if user is None or not user.active or not matches:
        session.add(LoginAttempt(username=name, address=address, attempted_at=now))
        append(session, "admin.login_failed", {"username": name, "reason": "invalid_credentials"},
               actor="anonymous", clock=clock)
        session.flush()
        raise InvalidCredentials("invalid username or password")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == name))
    user.last_login_at = now
    append(session, "admin.login", {"username": user.username, "role": user.role}, actor=_actor(user),
           clock=clock)
    return user
