"""Signed, expiring dashboard sessions (stateless cookies) and CSRF tokens."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from pydantic import SecretStr

from charte.config import Settings

MIN_SECRET_LENGTH = 32
_SESSION_SALT = "charte.admin.session"
_LOGIN_CSRF_SALT = "charte.admin.login-csrf"


class MissingSecretKey(RuntimeError):
    """No ``CHARTE_SECRET_KEY``: sessions cannot be signed, so the dashboard must not start."""


class InsecureSecretKey(RuntimeError):
    """``CHARTE_SECRET_KEY`` is too short to sign sessions safely."""


class InvalidSession(Exception):
    """The value is tampered with, expired, signed with another key, or malformed."""


@dataclass(frozen=True)
class SessionData:
    """What a session cookie carries: who, with which role, and the CSRF token for their forms."""

    user_id: int
    role: str
    csrf: str


def new_csrf_token() -> str:
    """A fresh, unguessable CSRF token."""
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Whether a submitted CSRF token equals the expected one, compared in constant time."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class _ClockedSigner(TimestampSigner):
    # itsdangerous reads time.time() directly; an injectable clock lets expiry be tested without sleeping.
    def __init__(self, *args: Any, clock: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


def signing_key(secret_key: str | SecretStr | None, signs: str) -> str:
    """The secret key as text, or :class:`MissingSecretKey` / :class:`InsecureSecretKey` naming what it ``signs``."""
    value = secret_key.get_secret_value() if isinstance(secret_key, SecretStr) else secret_key
    if not value:
        raise MissingSecretKey(f"CHARTE_SECRET_KEY is not set: {signs} cannot be signed "
                               "(`charte init` writes one to the workspace's .env)")
    if len(value) < MIN_SECRET_LENGTH:
        raise InsecureSecretKey(f"CHARTE_SECRET_KEY has {len(value)} characters; at least "
                                f"{MIN_SECRET_LENGTH} are needed to sign {signs} safely")
    return value


def timed_serializer(key: str, salt: str, clock: Callable[[], float] = time.time) -> URLSafeTimedSerializer:
    """A URL-safe serializer whose values carry their signing time, read from ``clock``."""
    return URLSafeTimedSerializer(key, salt=salt, signer=_ClockedSigner, signer_kwargs={"clock": clock})


class SessionSigner:
    """Signs and checks session cookie values and login-form CSRF tokens with the secret key."""

    def __init__(self, secret_key: str | SecretStr | None, *, max_age: int,
                 clock: Callable[[], float] = time.time) -> None:
        key = signing_key(secret_key, "dashboard sessions")
        self.max_age = max_age
        self._sessions = timed_serializer(key, _SESSION_SALT, clock)
        self._login_csrf = timed_serializer(key, _LOGIN_CSRF_SALT, clock)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], float] = time.time) -> SessionSigner:
        """A signer keyed and timed by ``CHARTE_SECRET_KEY`` and ``CHARTE_SESSION_MAX_AGE``."""
        return cls(settings.secret_key, max_age=settings.session_max_age, clock=clock)

    def issue(self, user_id: int, role: str) -> tuple[SessionData, str]:
        """A new session with a fresh CSRF token, and its signed cookie value."""
        data = SessionData(user_id, role, new_csrf_token())
        return data, self.dumps(data)

    def dumps(self, data: SessionData) -> str:
        """The signed, timestamped cookie value for ``data``."""
        return self._sessions.dumps({"u": data.user_id, "r": data.role, "c": data.csrf})

    def loads(self, value: str) -> SessionData:
        """The session in a cookie value, or raise :class:`InvalidSession`."""
        try:
            payload = self._sessions.loads(value, max_age=self.max_age)
        except BadSignature as exc:  # SignatureExpired is a BadSignature too
            raise InvalidSession(str(exc)) from None
        if not (isinstance(payload, dict) and isinstance(payload.get("u"), int)
                and isinstance(payload.get("r"), str) and isinstance(payload.get("c"), str)):
            raise InvalidSession("malformed session")
        return SessionData(payload["u"], payload["r"], payload["c"])

    def sign_login_csrf(self, token: str) -> str:
        """A signed value for the login form's CSRF cookie (there is no session yet to hold it)."""
        return self._login_csrf.dumps(token)

    def unsign_login_csrf(self, value: str) -> str:
        """The CSRF token in a login cookie value, or raise :class:`InvalidSession`."""
        try:
            token = self._login_csrf.loads(value, max_age=self.max_age)
        except BadSignature as exc:
            raise InvalidSession(str(exc)) from None
        if not isinstance(token, str):
            raise InvalidSession("malformed CSRF cookie")
        return token
