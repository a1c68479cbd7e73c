"""Identity verification: an emailed one-time code and signed link, stronger checks, identity documents.

Codes and link nonces are stored hashed; a code allows a limited number of attempts and both expire. An identity
document is asked for only once a reasonable doubt is recorded (Art. 12(6)), and deleted as soon as the identity
is decided.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from charte.ledger.chain import Clock
from charte.rights.policy import RightsPolicy
from charte.rights.requests import as_utc, move, now_utc, record
from charte.store.rights import MAX_DOCUMENT_BYTES, IdentityDocument, RightsRequest, VerificationChallenge

CODE_DIGITS = 6
MAX_REASON_LENGTH = 2000
#: What an identity document may be, recognised by its first bytes rather than by what the browser claims.
DOCUMENT_TYPES = {b"%PDF-": "application/pdf", b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class VerificationError(Exception):
    """Base of every refused verification."""


class NoChallenge(VerificationError):
    """No code or link is pending for this request (never sent, used, replaced or expired)."""


class ChallengeExpired(VerificationError):
    """The code or link has expired: ask for a new one."""


class WrongCode(VerificationError):
    """The code does not match; ``remaining`` attempts are left."""

    def __init__(self, remaining: int) -> None:
        super().__init__(f"wrong code; {remaining} attempt(s) left")
        self.remaining = remaining


class ChallengeLocked(VerificationError):
    """Too many wrong codes: this code no longer works, a new one must be asked for."""


class InvalidDocument(ValueError):
    """The identity document is empty, too large or not a PDF, PNG or JPEG."""


class MissingReason(ValueError):
    """A decision that the law asks to justify was given without a reason."""


@dataclass(frozen=True)
class IssuedChallenge:
    """A challenge just created: the clear code and nonce exist only here, to be mailed."""

    challenge_id: int
    purpose: str
    code: str
    nonce: str
    ttl: timedelta


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _code_hash(policy: RightsPolicy, nonce_hash: str, code: str) -> str:
    # Keyed with the workspace's secret and bound to the challenge: a leaked table gives no code away.
    return hmac.new(policy.code_key, f"{nonce_hash}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_challenge(session: Session, request: RightsRequest, *, purpose: str, policy: RightsPolicy,
                    clock: Clock, ttl: timedelta | None = None) -> IssuedChallenge:
    """A new code and link for ``request``; any earlier one of the same purpose stops working."""
    now = now_utc(clock)
    ttl = ttl or policy.code_ttl
    session.execute(update(VerificationChallenge)
                    .where(VerificationChallenge.request_id == request.id, VerificationChallenge.purpose == purpose,
                           VerificationChallenge.consumed_at.is_(None), VerificationChallenge.revoked_at.is_(None))
                    .values(revoked_at=now).execution_options(synchronize_session=False))
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    nonce = secrets.token_urlsafe(32)
    nonce_hash = _nonce_hash(nonce)
    challenge = VerificationChallenge(request_id=request.id, purpose=purpose,
                                      code_hash=_code_hash(policy, nonce_hash, code),
                                      link_nonce_hash=nonce_hash, created_at=now,
                                      expires_at=now + ttl, attempts=0, max_attempts=policy.max_attempts)
    session.add(challenge)
    session.flush()
    return IssuedChallenge(challenge.id, purpose, code, nonce, ttl)


def _live(session: Session, request: RightsRequest, purpose: str) -> VerificationChallenge:
    challenge = session.scalars(
        select(VerificationChallenge)
        .where(VerificationChallenge.request_id == request.id, VerificationChallenge.purpose == purpose,
               VerificationChallenge.consumed_at.is_(None), VerificationChallenge.revoked_at.is_(None))
        .order_by(VerificationChallenge.id.desc()).with_for_update()).first()
    if challenge is None:
        raise NoChallenge("no code is pending for this request")
    return challenge


def check_code(session: Session, request: RightsRequest, code: str, *, purpose: str, policy: RightsPolicy,
               clock: Clock) -> None:
    """Accept the code or raise; a wrong code counts in ``session``, which the caller must commit anyway."""
    challenge = _live(session, request, purpose)
    now = now_utc(clock)
    if as_utc(challenge.expires_at) <= now:
        raise ChallengeExpired("this code has expired")
    if challenge.attempts >= challenge.max_attempts:
        raise ChallengeLocked("too many wrong codes")
    challenge.attempts += 1
    typed = "".join(code.split())
    expected = _code_hash(policy, challenge.link_nonce_hash, typed)
    if len(typed) != CODE_DIGITS or not typed.isdigit() or not hmac.compare_digest(challenge.code_hash, expected):
        remaining = challenge.max_attempts - challenge.attempts
        if remaining <= 0:
            record(session, request, "request.verification_locked", actor="subject", clock=clock,
                   purpose=purpose, attempts=challenge.attempts)
            raise ChallengeLocked("too many wrong codes")
        raise WrongCode(remaining)
    challenge.consumed_at = now


def check_link(session: Session, request: RightsRequest, challenge_id: int, nonce: str, *, clock: Clock) -> str:
    """Accept a signed link's nonce (single use) and return its purpose ("verify" or "signin"), or raise.

    The signature was checked by the caller; this checks the link is the request's latest, unused and unexpired.
    """
    challenge = session.scalars(select(VerificationChallenge).where(
        VerificationChallenge.id == challenge_id, VerificationChallenge.request_id == request.id,
    ).with_for_update()).first()
    if challenge is None or not hmac.compare_digest(challenge.link_nonce_hash, _nonce_hash(nonce)):
        raise NoChallenge("this link is not valid")
    if challenge.consumed_at is not None or challenge.revoked_at is not None:
        # Used already, or replaced by a newer code: refused like a forged one.
        raise NoChallenge("this link has already been used or replaced by a newer one")
    now = now_utc(clock)
    if as_utc(challenge.expires_at) <= now:
        raise ChallengeExpired("this link has expired")
    if challenge.attempts >= challenge.max_attempts:
        raise ChallengeLocked("too many wrong codes")
    challenge.consumed_at = now
    return challenge.purpose


def email_verified(session: Session, request: RightsRequest, *, method: str, policy: RightsPolicy,
                   clock: Clock) -> None:
    """The subject proved the address: verified, or on to the DPO's review when the level asks for it."""
    request.verified_at = request.verified_at or now_utc(clock)
    request.verification_method = method
    if request.verification_level == "review":
        move(session, request, "identity_review", "request.email_verified", actor="subject", policy=policy,
             clock=clock, method=method, next_check="dpo_review")
    else:
        move(session, request, "verified", "request.verified", actor="subject", policy=policy, clock=clock,
             method=method)


def _reason(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise MissingReason("a reason is required")
    return reason[:MAX_REASON_LENGTH]


def record_reasonable_doubt(session: Session, request: RightsRequest, reason: str, *, actor: str,
                            policy: RightsPolicy, clock: Clock) -> None:
    """Record why the identity is doubtful and ask the subject for an identity document (clock suspended)."""
    request.doubt_reason = _reason(reason)
    request.awaiting_document = True
    move(session, request, "awaiting_verification", "request.identity_doubt_recorded", actor=actor, policy=policy,
         clock=clock, reason=request.doubt_reason)


def _document_type(content: bytes) -> str:
    for magic, kind in DOCUMENT_TYPES.items():
        if content.startswith(magic):
            return kind
    raise InvalidDocument("the document must be a PDF, PNG or JPEG file")


def store_identity_document(session: Session, request: RightsRequest, filename: str, content: bytes, *,
                            policy: RightsPolicy, clock: Clock) -> IdentityDocument:
    """Keep the document the subject sent, for the DPO to look at; the request goes back to review."""
    if not request.awaiting_document:
        raise NoChallenge("no identity document was asked for")
    if not content:
        raise InvalidDocument("the file is empty")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(f"the file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB")
    kind = _document_type(content)
    session.execute(delete(IdentityDocument).where(IdentityDocument.request_id == request.id))
    document = IdentityDocument(request_id=request.id, filename=(filename or "document")[-200:], content_type=kind,
                                size=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content,
                                uploaded_at=now_utc(clock))
    session.add(document)
    request.awaiting_document = False
    move(session, request, "identity_review", "request.identity_document_received", actor="subject",
         policy=policy, clock=clock, content_type=kind, size=len(content))
    return document


def identity_document(session: Session, request: RightsRequest) -> IdentityDocument | None:
    """The document waiting for the DPO, if any."""
    return session.scalars(select(IdentityDocument).where(IdentityDocument.request_id == request.id)).first()


def delete_identity_document(session: Session, request: RightsRequest, *, actor: str, clock: Clock) -> bool:
    """Delete the request's identity document; record the deletion when there was one."""
    deleted = cast(CursorResult[Any], session.execute(
        delete(IdentityDocument).where(IdentityDocument.request_id == request.id))).rowcount
    if deleted:
        record(session, request, "request.identity_document_deleted", actor=actor, clock=clock)
    return bool(deleted)


def confirm_identity(session: Session, request: RightsRequest, *, actor: str, note: str | None,
                     policy: RightsPolicy, clock: Clock) -> None:
    """The DPO confirms who the subject is; the identity document, if any, is deleted at once."""
    request.verified_at = now_utc(clock)
    request.verification_method = "dpo_review"
    request.awaiting_document = False
    move(session, request, "verified", "request.identity_confirmed", actor=actor, policy=policy, clock=clock,
         note=(note or "").strip()[:MAX_REASON_LENGTH] or None)
    delete_identity_document(session, request, actor=actor, clock=clock)
