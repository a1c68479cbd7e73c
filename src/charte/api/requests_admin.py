"""The DPO's side of rights requests under ``/admin/requests``, and the outbox under ``/admin/outbox``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from charte.api.deps import Principal, admin_language, get_manifest, get_workspace, require_role
from charte.api.rights_support import (
    clock_of,
    deliver_later,
    follow_up,
    mail_sender,
    rights_policy,
    run_later,
    services,
)
from charte.api.views import render
from charte.dashboard.sections import OverviewContext, OverviewSection, register_section
from charte.ledger import append
from charte.mail import OutboxSender, read_outbox, read_outbox_message
from charte.mail.queue import queued_messages
from charte.manifest import Manifest, tr
from charte.render.formatting import format_date
from charte.rights import (
    ExtensionRefused,
    InvalidTransition,
    MissingReason,
    RestrictionError,
    RightsServices,
    UnknownRequest,
    announce_restriction_lift,
    decide_approve,
    decide_deny,
    decide_extend,
    doubt_identity,
    due_within,
    find_request,
    identity_confirmed,
    lift_restriction,
    list_requests,
    request_types,
)
from charte.rights.deadlines import local_date
from charte.rights.letters import Letter
from charte.rights.requests import current_due, now_utc
from charte.rights.restriction import UnknownRestriction, restriction_for_request
from charte.rights.states import OPEN, STATES, WAITING_FOR_SUBJECT
from charte.rights.verification import identity_document
from charte.store import transaction
from charte.store.models import LedgerEvent
from charte.store.rights import RightsRequest
from charte.web.i18n import STRINGS
from charte.web.i18n_rights import RIGHTS_STRINGS, rights_strings
from charte.web.navigation import NavEntry, register

router = APIRouter(prefix="/admin", include_in_schema=False)

any_role = require_role()
deciders = require_role("admin", "dpo")

_NOTICES = ("approved", "denied", "extended", "doubt", "identity", "retry", "lift_announced", "lifted")

# The outbox is this area's page: its navigation entry and label live here.
register(NavEntry("/admin/outbox", "outbox", order=70))
for _lang, _strings in RIGHTS_STRINGS.items():
    STRINGS.setdefault(_lang, {}).setdefault("outbox", _strings["outbox"])


def _actor(principal: Principal) -> str:
    return f"admin:{principal.username}"


def _right_names(manifest: Manifest, lang: str) -> dict[str, str]:
    return {r.request_type or "": tr(r.name, lang) for r in request_types(manifest)}


@router.get("/requests")
def requests_list(request: Request, state: str | None = Query(None, max_length=30),
                  due_within_days: int | None = Query(None, alias="due_within", ge=0, le=3650),
                  principal: Principal = Depends(any_role)) -> Response:
    """Requests by due date; open ones by default, filtered by state or by how soon they are due."""
    manifest = get_manifest(request)
    lang, lang_param = admin_language(request)
    policy = rights_policy(request)
    now = now_utc(clock_of(request))
    today = local_date(now, policy.timezone)
    states = [state] if state in STATES else (None if state == "all" else sorted(OPEN))
    with get_workspace(request).sessions() as session:
        found = list_requests(session, states=states)
    rows = []
    for item in found:
        due = current_due(item, policy, now)
        left = (due - today).days
        if due_within_days is not None and (item.state not in OPEN or left > due_within_days):
            continue
        rows.append((item, due, left))
    return render(request, "admin/requests/list.html", lang=lang, lang_param=lang_param, principal=principal,
                  r=rights_strings(lang), rows=rows, right_names=_right_names(manifest, lang), states=STATES,
                  state=state or "", due_within=due_within_days, open_states=OPEN,
                  waiting=WAITING_FOR_SUBJECT, format_date=lambda d: format_date(d, lang))


def _timeline(session: Any, item: RightsRequest) -> list[LedgerEvent]:
    events = session.scalars(select(LedgerEvent).where(LedgerEvent.subject == item.subject_ref)
                             .order_by(LedgerEvent.seq)).all()
    return [e for e in events if json.loads(e.payload).get("reference") == item.reference]


def _detail(request: Request, reference: str, principal: Principal, *, status_code: int = 200,
            error: str | None = None, notice: str | None = None) -> Response:
    manifest = get_manifest(request)
    lang, lang_param = admin_language(request)
    policy = rights_policy(request)
    now = now_utc(clock_of(request))
    with get_workspace(request).sessions() as session:
        try:
            item = find_request(session, reference)
        except UnknownRequest:
            raise HTTPException(404, "request not found") from None
        timeline = _timeline(session, item)
        mails = queued_messages(session, item.reference)
        has_document = identity_document(session, item) is not None
        restriction = restriction_for_request(session, item)
    letter = Letter.from_json(item.answer["letter"]) if item.answer and "letter" in item.answer else None
    today = local_date(now, policy.timezone)
    return render(request, "admin/requests/detail.html", lang=lang, lang_param=lang_param, principal=principal,
                  status_code=status_code, r=rights_strings(lang), req=item, letter=letter, timeline=timeline,
                  mails=mails, has_document=has_document, restriction=restriction, error=error, notice=notice,
                  right=_right_names(manifest, lang).get(item.request_type, item.request_type),
                  due=current_due(item, policy, now), paused=item.state in WAITING_FOR_SUBJECT,
                  can_extend=item.state in OPEN and item.extension_months < 2 and today <= item.first_due_on,
                  purposes={k: tr(p.name, lang) for k, p in manifest.purposes.items()},
                  can_decide=principal.role in ("admin", "dpo"), format_date=lambda d: format_date(d, lang),
                  lift_default=(now + policy.lift_notice).date().isoformat())


@router.get("/requests/{reference}")
def request_detail(request: Request, reference: str, done: str | None = Query(None, max_length=20),
                   principal: Principal = Depends(any_role)) -> Response:
    """One request: facts, deadline, identity checks, decisions, letter, mail and ledger history."""
    r = rights_strings(admin_language(request)[0])
    notice = r[f"done_{done}"] if done in _NOTICES else None
    return _detail(request, reference, principal, notice=notice)


def _back(request: Request, reference: str, done: str) -> Response:
    _, lang_param = admin_language(request)
    suffix = f"&lang={lang_param}" if lang_param else ""
    return RedirectResponse(f"/admin/requests/{reference}?done={done}{suffix}", status_code=303)


_REFUSALS = (UnknownRequest, InvalidTransition, MissingReason, ExtensionRefused, RestrictionError,
             UnknownRestriction)


def _refused(request: Request, reference: str, principal: Principal, exc: Exception) -> Response:
    if isinstance(exc, UnknownRequest | UnknownRestriction):
        raise HTTPException(404, "not found")
    status = 409 if isinstance(exc, InvalidTransition) else 400
    return _detail(request, reference, principal, status_code=status, error=str(exc))


def _decide(request: Request, reference: str, principal: Principal, background: BackgroundTasks, done: str,
            decision: Callable[[Session, RightsServices, str], RightsRequest]) -> Response:
    """Apply one decision (given the session, services and actor); then run it if approved, else send its mail."""
    try:
        with transaction(get_workspace(request).sessions) as session:
            item = decision(session, services(request), _actor(principal))
            ref, state = item.reference, item.state
    except _REFUSALS as exc:
        return _refused(request, reference, principal, exc)
    follow_up(request, background, ref, state)
    return _back(request, ref, done)


@router.post("/requests/{reference}/approve")
def approve_request(request: Request, reference: str, background: BackgroundTasks, response: str = Form(""),
                    principal: Principal = Depends(deciders)) -> Response:
    """Approve; execution and the letter follow at once."""
    return _decide(request, reference, principal, background, "approved", lambda session, svc, actor: decide_approve(
        session, svc, reference, actor=actor, response=response or None))


@router.post("/requests/{reference}/deny")
def deny_request(request: Request, reference: str, background: BackgroundTasks, reason: str = Form(""),
                 principal: Principal = Depends(deciders)) -> Response:
    """Refuse with reasons; the letter cites the CNIL and the courts."""
    return _decide(request, reference, principal, background, "denied", lambda session, svc, actor: decide_deny(
        session, svc, reference, actor=actor, reason=reason))


@router.post("/requests/{reference}/extend")
def extend_request(request: Request, reference: str, background: BackgroundTasks, months: int = Form(2, ge=1, le=2),
                   reason: str = Form(""), principal: Principal = Depends(deciders)) -> Response:
    """Extend the deadline; the subject is told the reasons now."""
    return _decide(request, reference, principal, background, "extended", lambda session, svc, actor: decide_extend(
        session, svc, reference, actor=actor, months=months, reason=reason))


@router.post("/requests/{reference}/doubt")
def record_doubt(request: Request, reference: str, background: BackgroundTasks, reason: str = Form(""),
                 principal: Principal = Depends(deciders)) -> Response:
    """Record a reasonable doubt and ask the subject for an identity document."""
    return _decide(request, reference, principal, background, "doubt", lambda session, svc, actor: doubt_identity(
        session, svc, reference, actor=actor, reason=reason))


@router.post("/requests/{reference}/confirm-identity")
def confirm_identity(request: Request, reference: str, background: BackgroundTasks, note: str = Form(""),
                     principal: Principal = Depends(deciders)) -> Response:
    """Confirm the identity (any identity document is deleted); auto-approved types then run."""
    return _decide(request, reference, principal, background, "identity", lambda session, svc, actor:
                   identity_confirmed(session, svc, reference, actor=actor, note=note))


@router.get("/requests/{reference}/document")
def view_document(request: Request, reference: str, principal: Principal = Depends(deciders)) -> Response:
    """The identity document sent by the subject (DPO and admin only; each viewing is in the ledger)."""
    with transaction(get_workspace(request).sessions) as session:
        try:
            item = find_request(session, reference)
        except UnknownRequest:
            raise HTTPException(404, "not found") from None
        document = identity_document(session, item)
        if document is None:
            raise HTTPException(404, "not found")
        append(session, "request.identity_document_viewed", {"reference": item.reference},
               actor=_actor(principal), subject=item.subject_ref, clock=clock_of(request))
        content, kind = document.content, document.content_type
    return Response(content, media_type=kind, headers={"Content-Disposition": "inline", "Cache-Control": "no-store",
                                                       "Content-Security-Policy": "default-src 'none'; "
                                                       "img-src 'self'; object-src 'self'; sandbox"})


@router.post("/requests/{reference}/retry")
def retry_request(request: Request, reference: str, background: BackgroundTasks,
                  principal: Principal = Depends(deciders)) -> Response:
    """Run the execution of an approved request again (after a failure)."""
    with get_workspace(request).sessions() as session:
        try:
            item = find_request(session, reference)
        except UnknownRequest:
            raise HTTPException(404, "not found") from None
    if item.state not in ("approved", "executing"):
        return _detail(request, reference, principal, status_code=409, error=f"request is {item.state}")
    run_later(request, background, item.reference)
    return _back(request, item.reference, "retry")


@router.post("/restrictions/{restriction_id}/announce-lift")
def announce_lift(request: Request, restriction_id: int, background: BackgroundTasks, reference: str = Form(...),
                  reason: str = Form(""), not_before: str = Form(""),
                  principal: Principal = Depends(deciders)) -> Response:
    """Tell the subject the restriction will be lifted, why and from when."""
    try:
        when = datetime.fromisoformat(not_before) if not_before else None
    except ValueError:
        return _detail(request, reference, principal, status_code=400, error="invalid date")
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=now_utc(clock_of(request)).tzinfo)
    try:
        with transaction(get_workspace(request).sessions) as session:
            announce_restriction_lift(session, services(request), restriction_id, actor=_actor(principal),
                                      reason=reason, not_before=when)
    except _REFUSALS as exc:
        return _refused(request, reference, principal, exc)
    deliver_later(request, background)
    return _back(request, reference, "lift_announced")


@router.post("/restrictions/{restriction_id}/lift")
def lift(request: Request, restriction_id: int, reference: str = Form(...),
         principal: Principal = Depends(deciders)) -> Response:
    """Lift a restriction whose notice period has ended."""
    try:
        with transaction(get_workspace(request).sessions) as session:
            lift_restriction(session, services(request), restriction_id, actor=_actor(principal))
    except _REFUSALS as exc:
        return _refused(request, reference, principal, exc)
    return _back(request, reference, "lifted")


@router.get("/outbox")
def outbox(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """The messages written to the workspace's outbox (the embedded setup's mail)."""
    lang, lang_param = admin_language(request)
    sender = mail_sender(request)
    folder = sender.folder if isinstance(sender, OutboxSender) else get_workspace(request).settings.home / "outbox"
    return render(request, "admin/requests/outbox.html", lang=lang, lang_param=lang_param, principal=principal,
                  r=rights_strings(lang), messages=read_outbox(folder), folder=str(folder),
                  smtp=not isinstance(sender, OutboxSender), message=None)


@router.get("/outbox/{name}")
def outbox_message(request: Request, name: str, principal: Principal = Depends(any_role)) -> Response:
    """One message of the outbox."""
    lang, lang_param = admin_language(request)
    folder = get_workspace(request).settings.home / "outbox"
    found = read_outbox_message(folder, name)
    if found is None:
        raise HTTPException(404, "not found")
    return render(request, "admin/requests/outbox.html", lang=lang, lang_param=lang_param, principal=principal,
                  r=rights_strings(lang), messages=[], folder=str(folder), smtp=False, message=found)


# --- Overview section -----------------------------------------------------------------------------------------

def load_requests_due(context: OverviewContext) -> dict[str, Any]:
    """The overview's block: open requests due within 7 days or late, with their labels in the page's language."""
    from charte.rights.policy import RightsPolicy

    policy = RightsPolicy()
    due = due_within(context.session, within=timedelta(days=7), policy=policy, clock=lambda: context.now)
    r = rights_strings(context.lang)
    names = _right_names(context.manifest, context.lang)
    return {
        "labels": r,
        "items": [{"reference": d.request.reference, "right": names.get(d.request.request_type, ""),
                   "state": r[f"state_{d.request.state}"], "due": d.due_on.isoformat(),
                   "due_text": format_date(d.due_on, context.lang), "late": d.late, "paused": d.paused,
                   "left": (r["late"].format(days=-d.days_left) if d.late else
                            r["days_left"].format(days=d.days_left))} for d in due],
    }


register_section(OverviewSection("requests", "admin/overview/requests.html", load_requests_due, order=10))
