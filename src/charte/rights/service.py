"""The request workflow end to end: each operation is a domain step plus the mail it owes the subject.

Every function runs in the caller's transaction except :func:`run_request`, which takes a session factory
because the execution lease must be committed before the (possibly long) execution starts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from charte.ledger import utcnow
from charte.ledger.chain import Clock
from charte.manifest import Manifest, tr
from charte.render.formatting import country_name
from charte.rights.consent_actions import ConsentActions, ConsentChange, UnwiredConsentActions
from charte.rights.execution import ExecutionOutcome, Executor, ManifestExecutor
from charte.rights.identity import (
    IdentifierKind,
    Identity,
    InvalidIdentity,
    identifier_kinds,
    normalise_email,
    subject_ref,
)
from charte.rights.intake import IntakeResult, Submission, count_submission, resend_challenge, submit_request
from charte.rights.letters import ART19_TYPES, AnswerFacts, Letter, completion_letter, denial_letter
from charte.rights.links import InvalidLink, RightsSigner
from charte.rights.notices import (
    Outgoing,
    queue_document_request,
    queue_extension,
    queue_letter,
    queue_lift_notice,
    queue_verification,
)
from charte.rights.policy import RightsPolicy
from charte.rights.portability import portable_purposes, portable_records, records_to_json
from charte.rights.report import access_report, concerned_purposes
from charte.rights.requests import find_request, identity_of, list_requests, now_utc, record
from charte.rights.restriction import announce_lift, get_restriction, lift, restrict
from charte.rights.states import OPEN
from charte.rights.verification import (
    NoChallenge,
    check_code,
    check_link,
    confirm_identity,
    email_verified,
    issue_challenge,
    record_reasonable_doubt,
    store_identity_document,
)
from charte.rights.workflow import (
    LeaseLost,
    approve,
    cancel,
    claim,
    deny,
    expired_leases,
    extend,
    finish,
    pending_execution,
    release,
)
from charte.store import transaction
from charte.store.rights import Restriction, RightsRequest

logger = logging.getLogger(__name__)

#: What a subject can download, by what the stored answer holds.
ARTEFACTS = {"report": ("report.html", "report.json"), "portable": ("data.json", "data.csv")}
#: Types whose execution step asks the organisation's systems.
EXECUTED_TYPES = frozenset({"access", "portability", "rectification", "erasure", "restriction"})


@dataclass(frozen=True)
class RightsServices:
    """Everything the workflow needs besides a session: manifest, policy, links, mail, plug-ins, clock."""

    manifest: Manifest
    policy: RightsPolicy
    signer: RightsSigner
    base_url: str
    mail_from: str
    executor: Executor = field(default_factory=ManifestExecutor)
    consent: ConsentActions = field(default_factory=UnwiredConsentActions)
    clock: Clock = utcnow
    #: The identifiers the form offers; None: those the manifest implies (see :func:`identifier_kinds`).
    identifiers: tuple[IdentifierKind, ...] | None = None

    @property
    def identifier_kinds(self) -> list[IdentifierKind]:
        """The identifiers a subject may give."""
        return list(self.identifiers) if self.identifiers is not None else identifier_kinds(self.manifest)

    @property
    def outgoing(self) -> Outgoing:
        """The mail side of the services."""
        return Outgoing(self.manifest, self.signer, self.base_url, self.mail_from, self.clock)


# --- Subject side ---------------------------------------------------------------------------------------------

def receive(session: Session, svc: RightsServices, submission: Submission, *, address: str | None,
            verified_by: str | None = None) -> IntakeResult:
    """Record a request (or find its open duplicate) and mail the verification code and link."""
    result = submit_request(session, svc.manifest, submission, address=address, policy=svc.policy,
                            clock=svc.clock, verified_by=verified_by, identifier_kinds=svc.identifier_kinds)
    if result.challenge is not None:
        queue_verification(session, svc.outgoing, result.request, result.challenge)
    if result.created and result.request.state == "verified":
        after_verification(session, svc, result.request)
    return result


def after_verification(session: Session, svc: RightsServices, request: RightsRequest) -> None:
    """Approve at once the verified requests of the types the organisation auto-approves."""
    if request.state == "verified" and request.request_type in svc.policy.auto_approve:
        approve(session, request, actor="system:auto-approval", policy=svc.policy, clock=svc.clock, auto=True)


def confirm_code(session: Session, svc: RightsServices, reference: str, code: str) -> RightsRequest:
    """Check a typed verification code; a failure counts in ``session``, which must be committed anyway."""
    request = find_request(session, reference, for_update=True)
    if request.state != "awaiting_verification" or request.awaiting_document:
        raise NoChallenge("this request is not waiting for a code")
    check_code(session, request, code, purpose="verify", policy=svc.policy, clock=svc.clock)
    email_verified(session, request, method="email_code", policy=svc.policy, clock=svc.clock)
    after_verification(session, svc, request)
    return request


def read_link(svc: RightsServices, token: str) -> tuple[str, int, str]:
    """The request, challenge and nonce a link carries, if its signature holds and it has not expired."""
    longest = max(svc.policy.code_ttl, svc.policy.download_ttl)
    return svc.signer.read_verification_token(token, max_age=longest.total_seconds())


def confirm_link(session: Session, svc: RightsServices, token: str) -> RightsRequest:
    """Follow an emailed link: verify the request, or sign the subject in; the link works once."""
    reference, challenge_id, nonce = read_link(svc, token)
    try:
        request = find_request(session, reference, for_update=True)
    except LookupError:
        raise InvalidLink("this link is not valid") from None
    purpose = check_link(session, request, challenge_id, nonce, clock=svc.clock)
    if purpose == "verify" and request.state == "awaiting_verification" and not request.awaiting_document:
        email_verified(session, request, method="email_link", policy=svc.policy, clock=svc.clock)
        after_verification(session, svc, request)
    return request


def resend_code(session: Session, svc: RightsServices, reference: str, *, address: str | None) -> None:
    """Mail a new code for a request waiting for one; silent otherwise (nothing to learn by probing)."""
    try:
        request = find_request(session, reference, for_update=True)
    except LookupError:
        return
    if request.state == "awaiting_verification" and not request.awaiting_document:
        challenge = resend_challenge(session, request, purpose="verify", address=address, policy=svc.policy,
                                     clock=svc.clock)
        queue_verification(session, svc.outgoing, request, challenge)


def send_signin(session: Session, svc: RightsServices, email: str, *, address: str | None) -> bool:
    """Mail a sign-in link to the subject's space if this address has requests; the caller says the same
    thing either way, so the page reveals nothing about who made a request."""
    try:
        normalised = normalise_email(email)
    except InvalidIdentity:
        return False
    count_submission(session, address=address, email=normalised, policy=svc.policy, clock=svc.clock)
    requests = list_requests(session, subject_ref=subject_ref(Identity(normalised)))
    verified = [r for r in requests if r.verified_at is not None or r.state not in ("awaiting_verification",)]
    if not verified:
        return False
    latest = max(verified, key=lambda r: r.received_at)
    challenge = issue_challenge(session, latest, purpose="signin", policy=svc.policy, clock=svc.clock)
    return queue_verification(session, svc.outgoing, latest, challenge)


def upload_document(session: Session, svc: RightsServices, request: RightsRequest, filename: str,
                    content: bytes) -> None:
    """Keep the identity document the subject sent after a reasonable doubt."""
    store_identity_document(session, request, filename, content, policy=svc.policy, clock=svc.clock)


def cancel_by_subject(session: Session, svc: RightsServices, request: RightsRequest) -> None:
    """The subject withdraws their own request."""
    if request.state not in OPEN or request.state == "executing":
        raise LeaseLost(f"request {request.reference} can no longer be withdrawn")
    cancel(session, request, actor="subject", reason="withdrawn by the subject", policy=svc.policy, clock=svc.clock)


# --- DPO side --------------------------------------------------------------------------------------------------

def decide_approve(session: Session, svc: RightsServices, reference: str, *, actor: str,
                   response: str | None = None) -> RightsRequest:
    """Approve a verified request (a complaint with the DPO's answer)."""
    request = find_request(session, reference, for_update=True)
    approve(session, request, actor=actor, policy=svc.policy, clock=svc.clock, response=response)
    return request


def decide_deny(session: Session, svc: RightsServices, reference: str, *, actor: str,
                reason: str) -> RightsRequest:
    """Refuse with reasons and mail the letter citing the CNIL and the courts."""
    request = find_request(session, reference, for_update=True)
    deny(session, request, reason, actor=actor, policy=svc.policy, clock=svc.clock)
    letter = denial_letter(svc.manifest, request)
    request.answer = {"letter": letter.to_json(), "summary": {"denied": True}}
    queue_letter(session, svc.outgoing, request, letter, None)
    return request


def decide_extend(session: Session, svc: RightsServices, reference: str, *, actor: str, months: int,
                  reason: str) -> RightsRequest:
    """Extend the deadline and tell the subject why, now (before the first due date)."""
    request = find_request(session, reference, for_update=True)
    extend(session, request, months, reason, actor=actor, policy=svc.policy, clock=svc.clock)
    queue_extension(session, svc.outgoing, request)
    return request


def doubt_identity(session: Session, svc: RightsServices, reference: str, *, actor: str,
                   reason: str) -> RightsRequest:
    """Record a reasonable doubt and ask the subject for an identity document through their space."""
    request = find_request(session, reference, for_update=True)
    record_reasonable_doubt(session, request, reason, actor=actor, policy=svc.policy, clock=svc.clock)
    signin = issue_challenge(session, request, purpose="signin", policy=svc.policy, clock=svc.clock,
                             ttl=svc.policy.download_ttl)
    queue_document_request(session, svc.outgoing, request, signin)
    return request


def identity_confirmed(session: Session, svc: RightsServices, reference: str, *, actor: str,
                       note: str | None) -> RightsRequest:
    """The DPO confirms the identity (the document, if any, is deleted); auto-approval applies."""
    request = find_request(session, reference, for_update=True)
    confirm_identity(session, request, actor=actor, note=note, policy=svc.policy, clock=svc.clock)
    after_verification(session, svc, request)
    return request


def announce_restriction_lift(session: Session, svc: RightsServices, restriction_id: int, *, actor: str,
                              reason: str, not_before: datetime | None = None) -> Restriction:
    """Tell the subject the restriction will be lifted, why and from when."""
    restriction = get_restriction(session, restriction_id)
    when = not_before or now_utc(svc.clock) + svc.policy.lift_notice
    announce_lift(session, restriction, reason=reason, not_before=when, actor=actor, clock=svc.clock)
    if restriction.request_id is not None:
        request = session.get(RightsRequest, restriction.request_id)
        if request is not None:
            queue_lift_notice(session, svc.outgoing, request, restriction)
    return restriction


def lift_restriction(session: Session, svc: RightsServices, restriction_id: int, *, actor: str) -> Restriction:
    """Lift a restriction whose notice period has ended."""
    return lift(session, get_restriction(session, restriction_id), actor=actor, clock=svc.clock)


# --- Execution -------------------------------------------------------------------------------------------------

def _recipients(manifest: Manifest, outcome: ExecutionOutcome | None, lang: str) -> list[dict[str, Any]]:
    touched = {a.system for a in outcome.actions} if outcome else set()
    keys = {k for s in touched if s in manifest.systems for k in manifest.systems[s].purposes}
    purposes = [p for p in manifest.purposes.values() if p.key in keys] or concerned_purposes(manifest, None)
    seen: dict[str, dict[str, Any]] = {}
    for purpose in purposes:
        for key in purpose.recipients:
            recipient = manifest.recipients.get(key)
            if recipient is not None and key not in seen:
                seen[key] = {"key": key, "name": tr(recipient.name, lang), "kind": recipient.kind,
                             "country": recipient.country, "country_name": country_name(recipient.country, lang)}
    return list(seen.values())


def _consent_changes(session: Session, svc: RightsServices, request: RightsRequest,
                     actor: str) -> list[ConsentChange]:
    identity = identity_of(request)
    if request.request_type == "withdraw_consent":
        return svc.consent.withdraw(session, identity, list(request.purposes), actor=actor, clock=svc.clock)
    return svc.consent.object(session, identity, list(request.purposes), actor=actor, clock=svc.clock)


def execution_outcome(factory: sessionmaker[Session], svc: RightsServices,
                      request: RightsRequest) -> ExecutionOutcome | None:
    """Run the execution step of a claimed request (outside any transaction); None for types without one."""
    if request.request_type not in EXECUTED_TYPES:
        return None
    return svc.executor.execute(request.request_type, identity_of(request), manifest=svc.manifest, store=factory,
                                request_id=request.reference, details=request.details, clock=svc.clock)


def complete_claimed(session: Session, svc: RightsServices, request: RightsRequest, worker: str,
                     outcome: ExecutionOutcome | None, *, notify: bool = True) -> Letter:
    """Apply what belongs to Charte (restriction, consent), store the answer, complete, queue the letter."""
    kind, manifest, lang = request.request_type, svc.manifest, request.language
    actor = f"worker:{worker}"
    now = now_utc(svc.clock)
    answer: dict[str, Any] = {}
    facts: dict[str, Any] = {"available_until": (now + svc.policy.download_ttl).date(), "outcome": outcome}
    summary: dict[str, Any] = {}
    if outcome is not None:
        summary.update(systems=list(outcome.systems), records=len(outcome.records), actions=len(outcome.actions),
                       no_connected_systems=outcome.no_connected_systems)
        answer["outcome"] = outcome.to_json()
    if kind in ("access", "information"):
        report = access_report(manifest, lang, outcome=outcome, generated_at=now, reference=request.reference)
        answer["report"] = report
        facts["report"] = report
    if kind == "portability":
        records = records_to_json(portable_records(manifest, outcome))
        answer["portable"] = records
        facts.update(portable_count=len(records), portable_purposes=[p.key for p in portable_purposes(manifest)])
        summary["exported"] = len(records)
    if kind == "restriction":
        restriction = restrict(session, identity_of(request), request=request, reason=request.details, actor=actor,
                               clock=svc.clock)
        facts["restricted_since"] = restriction.restricted_at
        summary["restriction"] = restriction.id
    if kind in ("objection", "automated_decision", "withdraw_consent"):
        changes = _consent_changes(session, svc, request, actor)
        facts["consent_changes"] = changes
        answer["consent_changes"] = [{"purpose": c.purpose, "state": c.state, "previous": c.previous,
                                      "effective_at": c.effective_at.isoformat()} for c in changes]
        summary["consent_changes"] = [[c.purpose, c.state] for c in changes]
    if kind in ART19_TYPES:
        recipients = _recipients(manifest, outcome, lang)
        facts["recipients"] = recipients
        summary["recipients_informed"] = [r["key"] for r in recipients]
        record(session, request, "request.recipients_notified", actor=actor, clock=svc.clock,
               recipients=[r["key"] for r in recipients])
    letter = completion_letter(manifest, request, AnswerFacts(**facts))
    answer.update(letter=letter.to_json(), summary=summary)
    finish(session, request, worker, answer=answer, summary=summary, policy=svc.policy, clock=svc.clock)
    if notify:
        signin = issue_challenge(session, request, purpose="signin", policy=svc.policy, clock=svc.clock,
                                 ttl=svc.policy.download_ttl)
        queue_letter(session, svc.outgoing, request, letter, signin)
    return letter


def run_request(factory: sessionmaker[Session], svc: RightsServices, reference: str, *, worker: str) -> str:
    """Claim, execute and complete an approved request; on failure record why and leave it for a retry."""
    with transaction(factory) as session:
        request = find_request(session, reference)
        if not claim(session, request.id, worker, now_utc(svc.clock), lease=svc.policy.lease):
            return request.state
    try:
        # The organisation's systems are searched or changed with no transaction of ours open.
        outcome = execution_outcome(factory, svc, request)
        with transaction(factory) as session:
            request = find_request(session, reference, for_update=True)
            complete_claimed(session, svc, request, worker, outcome)
            return request.state
    except LeaseLost:
        return "executing"
    except Exception as exc:  # the execution step is a plug-in: whatever it raises must reach the DPO
        logger.warning("request %s: execution failed: %s", reference, exc)
        with transaction(factory) as session:
            request = find_request(session, reference, for_update=True)
            try:
                release(session, request, worker, f"{exc.__class__.__name__}: {exc}", policy=svc.policy,
                        clock=svc.clock)
            except LeaseLost:
                return request.state
            return request.state


def requests_to_run(session: Session, *, policy: RightsPolicy, clock: Clock) -> list[str]:
    """References of the approved requests not yet run, then of those whose worker died (lease expired)."""
    chosen = [r.reference for r in pending_execution(session, policy=policy)]
    chosen += [r.reference for r in expired_leases(session, now_utc(clock))]
    return list(dict.fromkeys(chosen))


def run_pending(factory: sessionmaker[Session], svc: RightsServices, *, worker: str,
                references: Sequence[str] | None = None) -> dict[str, str]:
    """Run every approved request (or those given) and every request whose lease expired; return their states."""
    with factory() as session:
        if references is None:
            chosen = requests_to_run(session, policy=svc.policy, clock=svc.clock)
        else:
            chosen = list(references)
    return {ref: run_request(factory, svc, ref, worker=worker) for ref in chosen}


def subject_requests(session: Session, subject: str) -> list[RightsRequest]:
    """A subject's requests, newest first."""
    return list(session.scalars(select(RightsRequest).where(RightsRequest.subject_ref == subject)
                                .order_by(RightsRequest.received_at.desc(), RightsRequest.id.desc())))


def artefacts(request: RightsRequest) -> tuple[str, ...]:
    """The files the subject may download for a request (none once the copy has been purged)."""
    answer = request.answer or {}
    return tuple(name for key, names in ARTEFACTS.items() if key in answer for name in names)
