"""Consent routes for the organisation's systems (API token): permission checks, decisions, links, proofs.

Scopes: ``consent:read`` to ask and read, ``consent:write`` to record decisions, link visitors and make links.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from charte.api.consent_public import CONSENT_ID_PATTERN
from charte.api.consent_support import (
    app_clock,
    base_url,
    hot_connections,
    link_signer,
    read_sessions,
    request_meta,
)
from charte.api.deps import bearer_credentials, get_manifest, get_token_cache, get_workspace, require_token
from charte.api.lean_route import LeanRoute
from charte.auth import TokenGrant
from charte.consent import (
    AlreadyLinked,
    Choice,
    Collection,
    CollectionMethod,
    ConsentError,
    Decision,
    InvalidSubject,
    Permission,
    Scope,
    UnknownSubject,
    check_permission,
    check_permissions,
    consent_proof,
    link_visitor,
    parse_subject,
    record_choices,
)
from charte.consent.links import PREFERENCES_LINK_MAX_AGE, preferences_link, unsubscribe_link
from charte.consent.state import subject_states
from charte.consent.subjects import effective_subject, find_subject
from charte.consent.vocabulary import instant_text
from charte.rights.restriction import RESTRICTIONS
from charte.store import transaction

router = APIRouter(prefix="/api/v1", tags=["consent"])
#: The permission check alone: the app tries it before any other route (see :mod:`charte.api.lean_route`).
hot_router = APIRouter(prefix="/api/v1", tags=["consent"], route_class=LeanRoute)

#: The largest batch one request may ask about (a newsletter send).
MAX_BATCH = 100_000

can_read = require_token("consent:read")
_read_token = can_read
can_write = require_token("consent:write")


class PermissionAnswer(BaseModel):
    """May this subject be processed for this purpose now, and why."""

    subject: str
    purpose: str
    allowed: bool
    reason: str = Field(description="consent_given, consent_missing, consent_refused, consent_withdrawn, "
                                    "consent_expired, consent_outdated, objection_recorded, restriction_in_force, "
                                    "purpose_unknown, subject_invalid, legal_basis_missing, contract, "
                                    "legal_obligation, vital_interests, public_task or legitimate_interest")
    legal_basis: str | None
    source: str | None = Field(description="The decision the answer rests on: `purpose:KEY` or `category:KEY`.")
    decided_at: str | None
    expires_at: str | None


class BatchQuestion(BaseModel):
    """Many subjects, one purpose."""

    model_config = ConfigDict(extra="forbid")

    purpose: str
    subjects: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class BatchAnswer(BaseModel):
    """One answer per subject, in the order asked."""

    purpose: str
    count: int
    allowed: int
    results: list[PermissionAnswer]


class PurposeDecision(BaseModel):
    """One decision about a purpose."""

    model_config = ConfigDict(extra="forbid")

    purpose: str
    decision: Literal["given", "refused", "withdrawn", "objected"]


class Decisions(BaseModel):
    """Decisions of one identified subject collected by the organisation's own form or system."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(description="email:ADDRESS, customer:ID (or a bare email address).")
    decisions: list[PurposeDecision] = Field(min_length=1, max_length=100)
    form_version: str | None = Field(None, max_length=64, description="Version (e.g. hash) of the form shown.")
    lang: str | None = Field(None, pattern=r"^[a-z]{2}$")


class LinkRequest(BaseModel):
    """Link a visitor's consent id to an identified subject (e.g. at sign-in)."""

    model_config = ConfigDict(extra="forbid")

    consent_id: str = Field(pattern=CONSENT_ID_PATTERN)
    subject: str


class SubjectLink(BaseModel):
    """A signed link to send to a subject."""

    model_config = ConfigDict(extra="forbid")

    subject: str
    purpose: str | None = Field(None, description="For an unsubscribe link: the purpose of the email.")
    lang: str | None = Field(None, pattern=r"^[a-z]{2}$")


def _subject(text: str) -> Any:
    try:
        return parse_subject(text)
    except InvalidSubject as exc:
        raise HTTPException(422, str(exc)) from None


def _actor(token: TokenGrant) -> str:
    return f"api:{token.name}"


#: The check's parameters and token, for the OpenAPI schema: the route reads them itself (see below).
_PERMISSION_OPENAPI: dict[str, Any] = {
    "parameters": [
        {"name": "subject", "in": "query", "required": True, "description": "email:…, customer:…, visitor:…",
         "schema": {"type": "string", "title": "Subject"}},
        {"name": "purpose", "in": "query", "required": True, "schema": {"type": "string", "title": "Purpose"}},
    ],
    "security": [{"ApiToken": []}],
}


def _required_query(request: Request, *names: str) -> list[str]:
    params = request.query_params
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise RequestValidationError([{"type": "missing", "loc": ("query", name), "msg": "Field required",
                                       "input": None} for name in missing])
    return [params[name] for name in names]


@hot_router.get("/permissions", response_model=PermissionAnswer,
                summary="May this subject be processed for this purpose?", openapi_extra=_PERMISSION_OPENAPI,
                responses={422: {"description": "A parameter is missing or the subject is unreadable."}})
async def permission(request: Request) -> Response:
    """``allowed`` with a machine-readable ``reason``; consent expires after the manifest's lifetime."""
    # The hot path of every integration: parameters and token are read here, because FastAPI's dependency
    # solving would cost more than the check itself.
    credentials = bearer_credentials(request)
    if credentials is not None and get_token_cache(request).fresh(credentials.credentials):
        _read_token(request, credentials)  # answered from memory
    else:
        await run_in_threadpool(_read_token, request, credentials)  # asks the store: never on the event loop
    subject, purpose = _required_query(request, "subject", "purpose")
    key = _subject(subject)

    manifest, clock = get_manifest(request), app_clock(request)
    if _reads_locally(request):
        # On SQLite a lock-free read of a few indexed rows takes tens of microseconds, less than a hop to the
        # thread pool, and never waits for a writer (WAL): it runs here, on the event loop's own connection.
        connections = hot_connections(request)
        try:
            found = check_permission(connections.get(), manifest, key, purpose, clock=clock,
                                     restrictions=RESTRICTIONS)
        except Exception:
            connections.discard()
            raise
    else:
        def answer() -> Permission:
            with get_workspace(request).reader.connect() as connection:
                return check_permission(connection, manifest, key, purpose, clock=clock, restrictions=RESTRICTIONS)

        found = await run_in_threadpool(answer)
    return JSONResponse({**found.as_dict(), "subject": subject})


def _reads_locally(request: Request) -> bool:
    return get_workspace(request).reader.dialect.name == "sqlite"


@router.post("/permissions", response_model=BatchAnswer, summary="Ask about many subjects at once")
def permissions(request: Request, question: BatchQuestion, token: TokenGrant = Depends(can_read)) -> Response:
    """One answer per subject, in order (up to 100,000: a newsletter send); unreadable subjects are denied."""
    with read_sessions(request)() as session:
        answers = check_permissions(session, get_manifest(request), question.subjects, question.purpose,
                                    clock=app_clock(request), restrictions=RESTRICTIONS)
    results = [a.as_dict() for a in answers]
    body = {"purpose": question.purpose, "count": len(results), "allowed": sum(1 for a in answers if a.allowed),
            "results": results}
    # Built directly: validating 100,000 answers again through a response model would cost more than the check.
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


@router.post("/consents", summary="Record decisions collected by the organisation")
def record(request: Request, sent: Decisions, token: TokenGrant = Depends(can_write)) -> dict[str, Any]:
    """One event per decision (method ``api``), each in the ledger."""
    key = _subject(sent.subject)
    if not key.identified:
        raise HTTPException(422, "use the banner's consent API for visitors; link them to a subject instead")
    collection = Collection(CollectionMethod.api, _actor(token), notice_version=sent.form_version, lang=sent.lang,
                            request=request_meta(request))
    choices = [Choice(Scope.purpose, d.purpose, Decision(d.decision)) for d in sent.decisions]
    try:
        with transaction(get_workspace(request).sessions) as session:
            events = record_choices(session, get_manifest(request), key, choices, collection,
                                    clock=app_clock(request))
            recorded = [{"event_id": e.id, "purpose": e.key, "decision": e.decision, "ledger_seq": e.ledger_seq,
                         "recorded_at": instant_text(e.recorded_at)} for e in events]
    except ConsentError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"subject": str(key), "recorded": recorded}


@router.post("/consents/link", summary="Link a visitor's consent id to an identified subject")
def link(request: Request, sent: LinkRequest, token: TokenGrant = Depends(can_write)) -> dict[str, Any]:
    """The visitor's newer choices carry over; from then on the consent id answers with the subject's choices."""
    key = _subject(sent.subject)
    try:
        with transaction(get_workspace(request).sessions) as session:
            carried = link_visitor(session, get_manifest(request), sent.consent_id, key, actor=_actor(token),
                                   clock=app_clock(request))
            count = len(carried)
    except AlreadyLinked as exc:
        raise HTTPException(409, str(exc)) from None
    except ConsentError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"subject": str(key), "consent_id": sent.consent_id, "carried_over": count}


@router.post("/consents/links", summary="Make a signed preferences or unsubscribe link for a subject")
def make_link(request: Request, sent: SubjectLink, token: TokenGrant = Depends(can_write)) -> dict[str, Any]:
    """Without ``purpose``: the preferences page link (expires); with it: the email's unsubscribe link."""
    key = _subject(sent.subject)
    signer = link_signer(request)
    try:
        if sent.purpose is None:
            return {"url": preferences_link(signer, base_url(request), key, lang=sent.lang),
                    "expires_in": PREFERENCES_LINK_MAX_AGE}
        return {"url": unsubscribe_link(signer, get_manifest(request), base_url(request), key, sent.purpose),
                "expires_in": None}
    except (ConsentError, InvalidSubject) as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/consents/{subject}", summary="A subject's current decisions")
def current(request: Request, subject: str, token: TokenGrant = Depends(can_read)) -> dict[str, Any]:
    """The newest decision per purpose and cookie category (a visitor's through its link)."""
    key = _subject(subject)
    with get_workspace(request).sessions() as session:
        found = find_subject(session, key)
        if found is None:
            raise HTTPException(404, f"no consent recorded for {key}")
        principal = effective_subject(session, found)
        states = [{"scope": s.scope, "key": s.key, "decision": s.decision,
                   "decided_at": instant_text(s.decided_at), "event_id": s.event_id}
                  for s in subject_states(session, principal)]
    return {"subject": str(key), "ref": principal.ref, "state": states}


@router.get("/consents/{subject}/proof", summary="Proof of consent (ISO/IEC TS 27560-shaped record)")
def proof(request: Request, subject: str, token: TokenGrant = Depends(can_read)) -> dict[str, Any]:
    """Every event with the exact record hashed, its ledger entry, the notices shown and the current state."""
    key = _subject(subject)
    with get_workspace(request).sessions() as session:
        try:
            return consent_proof(session, get_manifest(request), key, clock=app_clock(request))
        except UnknownSubject as exc:
            raise HTTPException(404, str(exc)) from None
