"""Signed links that stand for a verified email: the preferences page link and the unsubscribe link.

Both are signed with ``CHARTE_SECRET_KEY`` (itsdangerous), so no login is needed: whoever holds the link received
it at that address. Preferences links expire (they open every choice of the subject); unsubscribe links do not,
because an email's unsubscribe link must keep working as long as the email is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer
from pydantic import SecretStr

from charte.auth.sessions import signing_key, timed_serializer
from charte.consent.recording import OBJECTABLE_BASES, DecisionNotApplicable, UnknownPurpose
from charte.consent.subjects import InvalidSubject, SubjectKey, parse_subject
from charte.manifest import Manifest

#: How long a preferences link works after it is made.
PREFERENCES_LINK_MAX_AGE = 7 * 24 * 3600
PREFERENCES_PATH = "/preferences"
UNSUBSCRIBE_PATH = "/unsubscribe"
_PREFERENCES_SALT = "charte.consent.preferences-link"
_UNSUBSCRIBE_SALT = "charte.consent.unsubscribe-link"


class InvalidLink(Exception):
    """The link is tampered with, made with another key, or malformed."""


class ExpiredLink(InvalidLink):
    """The link was genuine but is too old."""


class LinkSigner:
    """Makes and reads the signed tokens of preferences and unsubscribe links."""

    def __init__(self, secret_key: str | SecretStr | None, *, clock: Callable[[], float] = time.time,
                 max_age: int = PREFERENCES_LINK_MAX_AGE) -> None:
        key = signing_key(secret_key, "links")
        self.max_age = max_age
        self._preferences = timed_serializer(key, _PREFERENCES_SALT, clock)
        self._unsubscribe = URLSafeSerializer(key, salt=_UNSUBSCRIBE_SALT)

    def preferences_token(self, subject: SubjectKey) -> str:
        """A token opening the preferences page of an identified subject, valid ``max_age`` seconds."""
        if not subject.identified:
            raise InvalidSubject("a preferences link is for an identified subject (email or customer id)")
        return self._preferences.dumps({"s": str(subject)})

    def preferences_subject(self, token: str) -> SubjectKey:
        """The subject a preferences token was made for; :class:`ExpiredLink` or :class:`InvalidLink` otherwise."""
        try:
            data = self._preferences.loads(token, max_age=self.max_age)
        except SignatureExpired as exc:
            raise ExpiredLink("this link has expired") from exc
        except BadSignature as exc:
            raise InvalidLink("this link is not valid") from exc
        return _subject_of(data)

    def unsubscribe_token(self, subject: SubjectKey, purpose: str) -> str:
        """A token that unsubscribes ``subject`` from ``purpose``; it does not expire."""
        return self._unsubscribe.dumps({"s": str(subject), "p": purpose})

    def unsubscribe_target(self, token: str) -> tuple[SubjectKey, str]:
        """The subject and purpose of an unsubscribe token; :class:`InvalidLink` otherwise."""
        try:
            data = self._unsubscribe.loads(token)
        except BadSignature as exc:
            raise InvalidLink("this link is not valid") from exc
        if not isinstance(data, dict) or not isinstance(data.get("p"), str):
            raise InvalidLink("this link is not valid")
        return _subject_of(data), data["p"]


def _subject_of(data: object) -> SubjectKey:
    if not isinstance(data, dict) or not isinstance(data.get("s"), str):
        raise InvalidLink("this link is not valid")
    try:
        return parse_subject(data["s"])
    except InvalidSubject as exc:
        raise InvalidLink("this link is not valid") from exc


def link_url(base_url: str, path: str, token: str, **params: str) -> str:
    """An absolute link: ``base_url`` + ``path`` with the token (and ``params``) in the query."""
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token, **params})}"


def preferences_link(signer: LinkSigner, base_url: str, subject: SubjectKey, *, lang: str | None = None) -> str:
    """The preferences page link to send to ``subject`` (mail delivery is the mail feature's)."""
    extra = {"lang": lang} if lang else {}
    return link_url(base_url, PREFERENCES_PATH, signer.preferences_token(subject), **extra)


def unsubscribe_link(signer: LinkSigner, manifest: Manifest, base_url: str, subject: SubjectKey,
                     purpose: str) -> str:
    """The unsubscribe link to put in an email sent to ``subject`` for ``purpose`` (consent or objectable)."""
    declared = manifest.purposes.get(purpose)
    if declared is None:
        raise UnknownPurpose(f"unknown purpose {purpose!r}")
    if declared.legal_basis not in OBJECTABLE_BASES:
        raise DecisionNotApplicable(f"purpose {purpose!r} rests on {declared.legal_basis}: nothing to unsubscribe from")
    return link_url(base_url, UNSUBSCRIBE_PATH, signer.unsubscribe_token(subject, purpose))
