"""Receiving a request: checking it against the manifest, limiting submissions, detecting duplicates."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charte.ledger.chain import Clock
from charte.manifest import Manifest, Purpose
from charte.manifest.models import Right
from charte.rights.deadlines import due_date
from charte.rights.identity import IdentifierKind, Identity, InvalidIdentity, identity_from_input, subject_ref
from charte.rights.policy import RightsPolicy
from charte.rights.requests import as_utc, move, new_reference, now_utc, received_on, record, refresh_due
from charte.rights.verification import IssuedChallenge, issue_challenge
from charte.store.rights import IntakeAttempt, RightsRequest

MAX_DETAILS = 5000
#: Types whose request means nothing without details: what to rectify, what the complaint is about.
NEEDS_DETAILS = frozenset({"rectification", "complaint"})


class InvalidSubmission(ValueError):
    """The submission cannot be accepted; ``errors`` maps each field at fault to an error code."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {code}" for name, code in errors.items()))
        self.errors = dict(errors)


class TooManyRequests(Exception):
    """Too many submissions from this address or for this email recently; nothing was recorded."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Submission:
    """A request as the subject (or an integrating system) submits it."""

    request_type: str
    email: str | None = None
    identifiers: Mapping[str, str] = field(default_factory=dict)
    details: str | None = None
    purposes: Sequence[str] = ()
    language: str | None = None
    channel: str = "web"


@dataclass(frozen=True)
class IntakeResult:
    """The request, whether it is new, and the verification challenge to mail (if one was issued)."""

    request: RightsRequest
    created: bool
    challenge: IssuedChallenge | None


def request_types(manifest: Manifest) -> list[Right]:
    """The rights a subject may file a request for: those with a ``request_type`` in the manifest."""
    return [right for right in manifest.rights.values() if right.request_type]


def selectable_purposes(manifest: Manifest, request_type: str) -> list[Purpose]:
    """The purposes a request of this type may target (objection, withdrawal, automated decisions)."""
    purposes = list(manifest.purposes.values())
    if request_type == "objection":
        return [p for p in purposes if p.objection or p.legal_basis in ("legitimate_interest", "public_task")]
    if request_type == "withdraw_consent":
        return [p for p in purposes if p.legal_basis == "consent" and p.withdrawable is not False]
    if request_type == "automated_decision":
        return [p for p in purposes if p.profiling or p.automated_decision]
    return []


def has_special_categories(manifest: Manifest) -> bool:
    """Whether the organisation processes any Art. 9 special category."""
    return any(manifest.is_special(key) for key in manifest.data_categories)


def _digest(text: str) -> str:
    # Limits are keyed by digests: the attempts table holds neither addresses nor emails.
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def _check_rate(session: Session, limits: Sequence[tuple[str, int]], policy: RightsPolicy, now: datetime) -> None:
    since = now - policy.intake_window
    session.execute(delete(IntakeAttempt).where(IntakeAttempt.attempted_at < since))
    for key, limit in limits:
        recent = (IntakeAttempt.key == key, IntakeAttempt.attempted_at > since)
        count = session.scalar(select(func.count()).select_from(IntakeAttempt).where(*recent)) or 0
        if count >= limit:
            oldest = session.scalars(select(IntakeAttempt.attempted_at).where(*recent)
                                     .order_by(IntakeAttempt.attempted_at)
                                     .offset(count - limit).limit(1)).first()
            unlock = as_utc(oldest) + policy.intake_window if oldest else now + policy.intake_window
            raise TooManyRequests(max(1, int((unlock - now).total_seconds()) + 1))
    for key, _ in limits:
        session.add(IntakeAttempt(key=key, attempted_at=now))


def count_submission(session: Session, *, address: str | None, email: str | None, policy: RightsPolicy,
                     clock: Clock) -> None:
    """Count a submission (or a resend) against the limits; raise :class:`TooManyRequests` when over."""
    limits: list[tuple[str, int]] = []
    if address:
        limits.append((f"addr:{_digest(address)}", policy.intake_per_address))
    if email:
        limits.append((f"email:{_digest(email)}", policy.intake_per_email))
    _check_rate(session, limits, policy, now_utc(clock))


def _validate(manifest: Manifest, submission: Submission, *, verified_by: str | None,
              kinds: Sequence[IdentifierKind] | None) -> tuple[Identity, list[str], str]:
    """Every problem of the submission at once (a form shows them all), else what to record."""
    errors: dict[str, str] = {}
    if not any(r.request_type == submission.request_type for r in request_types(manifest)):
        errors["request_type"] = "unknown"
    language = submission.language if submission.language in manifest.languages else manifest.default_language
    details = (submission.details or "").strip()
    if len(details) > MAX_DETAILS:
        errors["details"] = "too_long"
    elif submission.request_type in NEEDS_DETAILS and not details:
        errors["details"] = "required"
    allowed = {p.key for p in selectable_purposes(manifest, submission.request_type)}
    chosen = [p for p in dict.fromkeys(submission.purposes) if p]
    if any(p not in allowed for p in chosen):
        errors["purposes"] = "invalid"
    identity = None
    if not verified_by and not (submission.email or "").strip():
        # The address is how an online request is verified and answered.
        errors["email"] = "required"
    else:
        try:
            identity = identity_from_input(manifest, submission.email, submission.identifiers, kinds=kinds)
        except InvalidIdentity as exc:
            errors[exc.field] = "invalid"
    if errors or identity is None:
        raise InvalidSubmission(errors)
    if allowed and not chosen:
        # Objecting or withdrawing without choosing means every purpose it can apply to.
        chosen = [p.key for p in selectable_purposes(manifest, submission.request_type)]
    return identity, chosen, language


def submit_request(session: Session, manifest: Manifest, submission: Submission, *, address: str | None,
                   policy: RightsPolicy, clock: Clock, verified_by: str | None = None,
                   identifier_kinds: Sequence[IdentifierKind] | None = None) -> IntakeResult:
    """Record a new request (or find the open duplicate) and issue its verification challenge.

    ``verified_by`` names an identity check already made by the organisation (an integrating system that
    authenticated the subject): the request is then verified at once. ``identifier_kinds`` are those the form
    offers (default: from the manifest).
    """
    identity, purposes, language = _validate(manifest, submission, verified_by=verified_by, kinds=identifier_kinds)
    count_submission(session, address=address, email=identity.email, policy=policy, clock=clock)
    ref = subject_ref(identity)
    open_key = f"{ref}:{submission.request_type}"
    existing = session.scalars(select(RightsRequest).where(RightsRequest.open_key == open_key)).first()
    if existing is not None:
        return _duplicate(session, existing, policy=policy, clock=clock)
    now = now_utc(clock)
    special = has_special_categories(manifest)
    day = received_on(now, policy)
    request = RightsRequest(
        reference=new_reference(), request_type=submission.request_type, state="received", language=language,
        channel=submission.channel, subject_ref=ref, email=identity.email, identifiers=dict(identity.identifiers),
        details=(submission.details or "").strip() or None, purposes=purposes, open_key=open_key,
        received_at=now, received_on=day, suspended_days=0, extension_months=0,
        first_due_on=due_date(day, alsace_moselle=policy.alsace_moselle),
        due_on=due_date(day, alsace_moselle=policy.alsace_moselle),
        verification_level=policy.level_for(submission.request_type, special_category=special,
                                            has_identifiers=bool(identity.identifiers)),
        special_category=special, awaiting_document=False, auto_approved=False, execution_attempts=0,
    )
    try:
        # A savepoint: a concurrent duplicate loses on the unique open_key without spoiling the transaction.
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        existing = session.scalars(select(RightsRequest).where(RightsRequest.open_key == open_key)).one()
        return _duplicate(session, existing, policy=policy, clock=clock)
    refresh_due(request, policy)
    record(session, request, "request.received", actor="subject", clock=clock, channel=submission.channel,
           **{"from": None, "to": "received"},
           language=language, due_on=request.due_on.isoformat(), purposes=purposes,
           identifiers=sorted(identity.identifiers), verification_level=request.verification_level)
    if verified_by:
        request.verified_at, request.verification_method = now, verified_by
        move(session, request, "verified", "request.verified", actor=f"system:{verified_by}", policy=policy,
             clock=clock, method=verified_by)
        return IntakeResult(request, True, None)
    challenge = issue_challenge(session, request, purpose="verify", policy=policy, clock=clock)
    move(session, request, "awaiting_verification", "request.verification_sent", actor="system", policy=policy,
         clock=clock, method="email_code_and_link", expires_in_minutes=int(challenge.ttl.total_seconds() // 60))
    return IntakeResult(request, True, challenge)


def _duplicate(session: Session, existing: RightsRequest, *, policy: RightsPolicy, clock: Clock) -> IntakeResult:
    # Still waiting for the code: the subject probably lost it, so a fresh one replaces it.
    if existing.state == "awaiting_verification" and not existing.awaiting_document:
        challenge = issue_challenge(session, existing, purpose="verify", policy=policy, clock=clock)
        move(session, existing, "awaiting_verification", "request.verification_sent", actor="system",
             policy=policy, clock=clock, method="email_code_and_link", resent=True,
             expires_in_minutes=int(challenge.ttl.total_seconds() // 60))
        return IntakeResult(existing, False, challenge)
    return IntakeResult(existing, False, None)


def resend_challenge(session: Session, request: RightsRequest, *, purpose: str, address: str | None,
                     policy: RightsPolicy, clock: Clock) -> IssuedChallenge:
    """A new code and link (counted against the submission limits, so it cannot flood a mailbox)."""
    count_submission(session, address=address, email=request.email, policy=policy, clock=clock)
    challenge = issue_challenge(session, request, purpose=purpose, policy=policy, clock=clock)
    if purpose == "verify" and request.state == "awaiting_verification":
        move(session, request, "awaiting_verification", "request.verification_sent", actor="system", policy=policy,
             clock=clock, method="email_code_and_link", resent=True,
             expires_in_minutes=int(challenge.ttl.total_seconds() // 60))
    return challenge
