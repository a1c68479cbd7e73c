"""Signed, expiring values for subjects: verification links, download links and the subject's session."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired
from pydantic import SecretStr

from charte.auth import new_csrf_token
from charte.auth.sessions import signing_key, timed_serializer

_VERIFY_SALT = "charte.rights.verify-link"
_DOWNLOAD_SALT = "charte.rights.download"
_SUBJECT_SALT = "charte.rights.subject-session"
_FORM_SALT = "charte.rights.form-csrf"


class InvalidLink(Exception):
    """A link or cookie value that is tampered with, signed with another key, malformed or expired."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class SubjectSession:
    """A verified subject in this browser: whose requests they may see, and the CSRF token of their forms."""

    subject_ref: str
    csrf: str


class RightsSigner:
    """Signs the values a subject carries, with the workspace's secret key and a distinct salt for each use."""

    def __init__(self, secret_key: str | SecretStr | None, *, clock: Callable[[], float] = time.time) -> None:
        key = signing_key(secret_key, "links to subjects")
        self._serializers = {salt: timed_serializer(key, salt, clock)
                             for salt in (_VERIFY_SALT, _DOWNLOAD_SALT, _SUBJECT_SALT, _FORM_SALT)}

    def _loads(self, salt: str, value: str, max_age: float) -> Any:
        try:
            return self._serializers[salt].loads(value, max_age=int(max_age))
        except SignatureExpired:
            raise InvalidLink("this link has expired", expired=True) from None
        except BadSignature:
            raise InvalidLink("this link is not valid") from None

    def verification_token(self, reference: str, challenge_id: int, nonce: str) -> str:
        """The token of an emailed verification or sign-in link."""
        return self._serializers[_VERIFY_SALT].dumps({"r": reference, "c": challenge_id, "n": nonce})

    def read_verification_token(self, token: str, *, max_age: float) -> tuple[str, int, str]:
        """(reference, challenge id, nonce) of a verification token, or raise :class:`InvalidLink`."""
        data = self._loads(_VERIFY_SALT, token, max_age)
        if not (isinstance(data, dict) and isinstance(data.get("r"), str) and isinstance(data.get("c"), int)
                and isinstance(data.get("n"), str)):
            raise InvalidLink("this link is not valid")
        return data["r"], data["c"], data["n"]

    def download_token(self, reference: str, artefact: str, subject_ref: str) -> str:
        """The token of a download link: one file of one request for one subject."""
        return self._serializers[_DOWNLOAD_SALT].dumps({"r": reference, "f": artefact, "s": subject_ref})

    def check_download_token(self, token: str, *, reference: str, artefact: str, subject_ref: str,
                             max_age: float) -> None:
        """Raise :class:`InvalidLink` unless the token names exactly this file, request and subject."""
        data = self._loads(_DOWNLOAD_SALT, token, max_age)
        if data != {"r": reference, "f": artefact, "s": subject_ref}:
            raise InvalidLink("this link is not valid")

    def subject_session(self, subject_ref: str) -> tuple[SubjectSession, str]:
        """A new subject session and its signed cookie value."""
        session = SubjectSession(subject_ref, new_csrf_token())
        return session, self._serializers[_SUBJECT_SALT].dumps({"s": subject_ref, "c": session.csrf})

    def read_subject_session(self, value: str, *, max_age: float) -> SubjectSession:
        """The subject session in a cookie value, or raise :class:`InvalidLink`."""
        data = self._loads(_SUBJECT_SALT, value, max_age)
        if not (isinstance(data, dict) and isinstance(data.get("s"), str) and isinstance(data.get("c"), str)):
            raise InvalidLink("malformed session")
        return SubjectSession(data["s"], data["c"])

    def form_token(self) -> tuple[str, str]:
        """A CSRF token for an anonymous form and the signed cookie value that vouches for it."""
        token = new_csrf_token()
        return token, self._serializers[_FORM_SALT].dumps(token)

    def read_form_token(self, value: str, *, max_age: float) -> str:
        """The CSRF token a form cookie vouches for, or raise :class:`InvalidLink`."""
        data = self._loads(_FORM_SALT, value, max_age)
        if not isinstance(data, str):
            raise InvalidLink("malformed form token")
        return data
