"""The subject's side of rights requests: the form, verification, their space, downloads, and the JSON intake."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.responses import Response

from charte.api.deps import authenticate_bearer, client_address, get_manifest, get_workspace
from charte.api.headers import csp_allowing_styles_of
from charte.api.public import visitor_language
from charte.api.rights_support import (
    clock_of,
    deliver_later,
    end_subject_session,
    follow_up,
    form_token,
    form_token_matches,
    rights_policy,
    rights_signer,
    services,
    set_form_cookies,
    start_subject_session,
    subject_session,
)
from charte.api.views import render
from charte.auth import csrf_matches
from charte.manifest import Manifest, tr
from charte.render.formatting import format_date
from charte.rights import (
    ChallengeExpired,
    ChallengeLocked,
    InvalidDocument,
    InvalidLink,
    InvalidSubmission,
    NoChallenge,
    Submission,
    TooManyRequests,
    UnknownRequest,
    WrongCode,
    artefacts,
    confirm_code,
    confirm_link,
    find_request,
    receive,
    request_types,
    selectable_purposes,
    send_signin,
    subject_requests,
)
from charte.rights.documents import report_html
from charte.rights.letters import Letter
from charte.rights.portability import portability_csv, portability_json
from charte.rights.requests import current_due, now_utc
from charte.rights.service import cancel_by_subject, read_link, resend_code, upload_document
from charte.rights.states import OPEN, WAITING_FOR_SUBJECT
from charte.rights.workflow import LeaseLost
from charte.store import transaction
from charte.store.rights import MAX_DOCUMENT_BYTES, RightsRequest
from charte.web.i18n_rights import rights_strings

router = APIRouter()
_bearer = HTTPBearer(auto_error=False, scheme_name="ApiToken")

#: Purposes a form field per type offers: ``purposes_<type>``.
PURPOSE_TYPES = ("objection", "withdraw_consent", "automated_decision")
MEDIA = {"report.html": "text/html; charset=utf-8", "report.json": "application/json",
         "data.json": "application/json", "data.csv": "text/csv; charset=utf-8"}


def _page(request: Request, template: str, lang: str, *, status_code: int = 200,
          headers: dict[str, str] | None = None, **context: Any) -> Response:
    manifest = get_manifest(request)
    cookies: list[tuple[str, str]] = []
    token = form_token(request, cookies)
    subject = subject_session(request)
    response = render(request, template, lang=lang, languages=manifest.languages, status_code=status_code,
                      headers={"Vary": "Accept-Language", "Cache-Control": "no-store", **(headers or {})},
                      r=rights_strings(lang), form_csrf=token, subject=subject,
                      subject_csrf=subject.csrf if subject else "", **context)
    set_form_cookies(request, response, cookies)
    return response


def _lang(request: Request, manifest: Manifest, lang: str | None) -> str:
    return visitor_language(request, manifest, lang)


def _form_context(request: Request, manifest: Manifest, lang: str) -> dict[str, Any]:
    return {
        "types": [(r.request_type, tr(r.name, lang), tr(r.description, lang)) for r in request_types(manifest)],
        "identifier_kinds": [(k.key, k.name(lang)) for k in services(request).identifier_kinds],
        "purpose_groups": [(kind, [(p.key, tr(p.name, lang)) for p in selectable_purposes(manifest, kind)])
                           for kind in PURPOSE_TYPES if any(r.request_type == kind for r in request_types(manifest))],
        "type_names": {r.request_type: tr(r.name, lang) for r in request_types(manifest)},
        "controller": manifest.controller.name,
    }


def _new_page(request: Request, lang: str, *, status_code: int = 200, errors: dict[str, str] | None = None,
              values: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
    manifest = get_manifest(request)
    defaults: dict[str, Any] = {"request_type": "", "email": "", "identifiers": {}, "details": "", "purposes": [],
                                "language": lang}
    return _page(request, "requests/new.html", lang, status_code=status_code, headers=headers,
                 errors=errors or {}, values={**defaults, **(values or {})}, **_form_context(request, manifest, lang))


@router.get("/requests/new", response_class=HTMLResponse, include_in_schema=False)
def new_request(request: Request, lang: str | None = Query(None), type: str | None = Query(None)) -> Response:
    """The request form of the privacy center."""
    manifest = get_manifest(request)
    return _new_page(request, _lang(request, manifest, lang), values={"request_type": type or ""})


def _error_messages(errors: dict[str, str], lang: str) -> dict[str, str]:
    r = rights_strings(lang)
    out = {}
    for name, code in errors.items():
        field = "identifiers" if name.startswith("identifiers.") else name
        out[name] = r.get(f"err_{field}_{code}", r.get(f"err_{field}_invalid", code))
    return out


@router.post("/requests/new", response_class=HTMLResponse, include_in_schema=False)
async def submit_form(request: Request, background: BackgroundTasks, lang: str | None = Query(None)) -> Response:
    """Record the request and send the verification mail; then ask for the code."""
    manifest = get_manifest(request)
    chosen = _lang(request, manifest, lang)
    form = await request.form()
    text = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    kind = text.get("request_type", "")
    purposes = [v for k, v in form.multi_items() if k == f"purposes_{kind}" and isinstance(v, str)]
    identifiers = {k.removeprefix("identifiers."): v for k, v in text.items() if k.startswith("identifiers.")}
    email, details, language = text.get("email", ""), text.get("details", ""), text.get("language", chosen)
    values: dict[str, Any] = {"request_type": kind, "email": email, "identifiers": identifiers, "details": details,
                              "purposes": purposes, "language": language}
    r = rights_strings(chosen)
    if not form_token_matches(request, text.get("csrf_token")):
        return _new_page(request, chosen, status_code=403, errors={"form": r["err_csrf"]}, values=values)
    submission = Submission(kind, email=email, identifiers=identifiers, details=details, purposes=purposes,
                            language=language, channel="web")
    svc = services(request)
    try:
        with transaction(get_workspace(request).sessions) as session:
            result = receive(session, svc, submission, address=client_address(request))
            reference, created = result.request.reference, result.created
    except InvalidSubmission as exc:
        return _new_page(request, chosen, status_code=422, errors=_error_messages(exc.errors, chosen), values=values)
    except TooManyRequests as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        return _new_page(request, chosen, status_code=429, errors={"form": r["err_too_many"].format(minutes=minutes)},
                         values=values, headers={"Retry-After": str(exc.retry_after)})
    follow_up(request, background, reference, result.request.state)
    target = f"/requests/verify?reference={reference}&lang={chosen}" + ("" if created else "&duplicate=1")
    return RedirectResponse(target, status_code=303)


def _verify_page(request: Request, lang: str, reference: str, *, status_code: int = 200, error: str | None = None,
                 notice: str | None = None, duplicate: bool = False) -> Response:
    return _page(request, "requests/verify.html", lang, status_code=status_code, reference=reference, error=error,
                 notice=notice, duplicate=duplicate)


@router.get("/requests/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_form(request: Request, reference: str = Query("", max_length=20), lang: str | None = Query(None),
                duplicate: bool = Query(False)) -> Response:
    """Where the subject types the emailed code."""
    return _verify_page(request, _lang(request, get_manifest(request), lang), reference, duplicate=duplicate)


def _challenge_error(exc: Exception, lang: str) -> tuple[int, str]:
    r = rights_strings(lang)
    if isinstance(exc, WrongCode):
        return 400, r["err_wrong_code"].format(remaining=exc.remaining)
    if isinstance(exc, ChallengeExpired):
        return 410, r["err_expired"]
    if isinstance(exc, ChallengeLocked):
        return 429, r["err_locked"]
    if isinstance(exc, InvalidLink):
        return 400, r["err_link"]
    return 400, r["err_no_challenge"]


def _signed_in(request: Request, subject: str, reference: str, lang: str) -> Response:
    """The request's page, for a subject this browser now remembers as verified."""
    response = RedirectResponse(f"/requests/{reference}?lang={lang}", status_code=303)
    start_subject_session(request, response, subject)
    return response


@router.post("/requests/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_code(request: Request, background: BackgroundTasks, reference: str = Form("", max_length=20),
                code: str = Form("", max_length=20), csrf_token: str = Form(""),
                lang: str | None = Query(None)) -> Response:
    """Check the code: on success the browser is signed in as the subject and sees the request."""
    chosen = _lang(request, get_manifest(request), lang)
    if not form_token_matches(request, csrf_token):
        return _verify_page(request, chosen, reference, status_code=403, error=rights_strings(chosen)["err_csrf"])
    workspace = get_workspace(request)
    with workspace.sessions() as session:
        try:
            verified = confirm_code(session, services(request), reference, code)
        except (UnknownRequest, NoChallenge, WrongCode, ChallengeExpired, ChallengeLocked) as exc:
            session.commit()  # a wrong code must count towards the limit
            status, message = _challenge_error(exc, chosen)
            return _verify_page(request, chosen, reference, status_code=status, error=message)
        subject, state, ref = verified.subject_ref, verified.state, verified.reference
        session.commit()
    follow_up(request, background, ref, state)
    return _signed_in(request, subject, ref, chosen)


@router.post("/requests/resend", response_class=HTMLResponse, include_in_schema=False)
def resend(request: Request, background: BackgroundTasks, reference: str = Form("", max_length=20),
           csrf_token: str = Form(""), lang: str | None = Query(None)) -> Response:
    """Mail a new code; the page says the same whether or not the reference exists."""
    chosen = _lang(request, get_manifest(request), lang)
    r = rights_strings(chosen)
    if not form_token_matches(request, csrf_token):
        return _verify_page(request, chosen, reference, status_code=403, error=r["err_csrf"])
    try:
        with transaction(get_workspace(request).sessions) as session:
            resend_code(session, services(request), reference, address=client_address(request))
    except TooManyRequests as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        return _verify_page(request, chosen, reference, status_code=429,
                            error=r["err_too_many"].format(minutes=minutes))
    deliver_later(request, background)
    return _verify_page(request, chosen, reference, notice=r["resent"])


@router.get("/requests/link", response_class=HTMLResponse, include_in_schema=False)
def link_page(request: Request, token: str = Query("", max_length=2000), lang: str | None = Query(None)) -> Response:
    """An emailed link lands here; a button confirms (mail scanners that open links confirm nothing)."""
    manifest = get_manifest(request)
    try:
        reference, _, _ = read_link(services(request), token)
    except InvalidLink:
        chosen = _lang(request, manifest, lang)
        return _page(request, "requests/link.html", chosen, status_code=400, token="", reference="",
                     error=rights_strings(chosen)["err_link"])
    with get_workspace(request).sessions() as session:
        try:
            found = find_request(session, reference)
            default_lang = found.language
        except UnknownRequest:
            default_lang = None
    chosen = _lang(request, manifest, lang or default_lang)
    return _page(request, "requests/link.html", chosen, token=token, reference=reference, error=None)


@router.post("/requests/link", response_class=HTMLResponse, include_in_schema=False)
def follow_link(request: Request, background: BackgroundTasks, token: str = Form("", max_length=2000),
                csrf_token: str = Form(""), lang: str | None = Query(None)) -> Response:
    """Use the link once: verify the request or sign in, then show the request."""
    chosen = _lang(request, get_manifest(request), lang)
    if not form_token_matches(request, csrf_token):
        return _page(request, "requests/link.html", chosen, status_code=403, token=token, reference="",
                     error=rights_strings(chosen)["err_csrf"])
    with get_workspace(request).sessions() as session:
        try:
            followed = confirm_link(session, services(request), token)
        except (InvalidLink, NoChallenge, ChallengeExpired, ChallengeLocked) as exc:
            session.rollback()
            status, message = _challenge_error(exc, chosen)
            return _page(request, "requests/link.html", chosen, status_code=status, token="", reference="",
                         error=message)
        subject, state, ref = followed.subject_ref, followed.state, followed.reference
        chosen = _lang(request, get_manifest(request), lang or followed.language)
        session.commit()
    follow_up(request, background, ref, state)
    return _signed_in(request, subject, ref, chosen)


@router.get("/requests/signin", response_class=HTMLResponse, include_in_schema=False)
def signin_form(request: Request, lang: str | None = Query(None)) -> Response:
    """Ask for a sign-in link to see one's requests."""
    return _page(request, "requests/signin.html", _lang(request, get_manifest(request), lang), notice=None,
                 error=None)


@router.post("/requests/signin", response_class=HTMLResponse, include_in_schema=False)
def signin(request: Request, background: BackgroundTasks, email: str = Form("", max_length=320),
           csrf_token: str = Form(""), lang: str | None = Query(None)) -> Response:
    """Mail a sign-in link if the address has requests; the answer is the same either way."""
    chosen = _lang(request, get_manifest(request), lang)
    r = rights_strings(chosen)
    if not form_token_matches(request, csrf_token):
        return _page(request, "requests/signin.html", chosen, status_code=403, notice=None, error=r["err_csrf"])
    try:
        with transaction(get_workspace(request).sessions) as session:
            send_signin(session, services(request), email, address=client_address(request))
    except TooManyRequests as exc:
        minutes = max(1, -(-exc.retry_after // 60))
        return _page(request, "requests/signin.html", chosen, status_code=429, notice=None,
                     error=r["err_too_many"].format(minutes=minutes), headers={"Retry-After": str(exc.retry_after)})
    deliver_later(request, background)
    return _page(request, "requests/signin.html", chosen, notice=r["signin_sent"], error=None)


@router.post("/requests/signout", include_in_schema=False)
def signout(request: Request, csrf_token: str = Form("")) -> Response:
    """Forget the subject in this browser."""
    subject = subject_session(request)
    if subject is None or not csrf_matches(subject.csrf, csrf_token):
        raise HTTPException(403, "CSRF token missing or invalid")
    response = RedirectResponse("/requests/signin", status_code=303)
    end_subject_session(response)
    return response


@router.get("/requests/mine", response_class=HTMLResponse, include_in_schema=False)
def mine(request: Request, lang: str | None = Query(None)) -> Response:
    """The signed-in subject's requests."""
    subject = subject_session(request)
    chosen = _lang(request, get_manifest(request), lang)
    if subject is None:
        return RedirectResponse(f"/requests/signin?lang={chosen}", status_code=303)
    with get_workspace(request).sessions() as session:
        found = subject_requests(session, subject.subject_ref)
    return _page(request, "requests/mine.html", chosen, requests=found, right_names=_right_names(request, chosen))


def _right_names(request: Request, lang: str) -> dict[str, str]:
    return {r.request_type or "": tr(r.name, lang) for r in request_types(get_manifest(request))}


def _own_request(request: Request, reference: str) -> tuple[RightsRequest, str]:
    """The request if it belongs to the signed-in subject; 404 otherwise (existence is not revealed)."""
    subject = subject_session(request)
    if subject is None:
        raise HTTPException(404, "request not found")
    with get_workspace(request).sessions() as session:
        try:
            found = find_request(session, reference)
        except UnknownRequest:
            raise HTTPException(404, "request not found") from None
    if found.subject_ref != subject.subject_ref:
        raise HTTPException(404, "request not found")
    return found, subject.csrf


def _own_request_for_post(request: Request, reference: str, csrf_token: str) -> RightsRequest:
    found, csrf = _own_request(request, reference)
    if not csrf_matches(csrf, csrf_token):
        raise HTTPException(403, "CSRF token missing or invalid")
    return found


def _status_context(request: Request, found: RightsRequest, lang: str) -> dict[str, Any]:
    policy = rights_policy(request)
    signer = rights_signer(request)
    now = now_utc(clock_of(request))
    files = [(name, f"/requests/{found.reference}/files/{name}?token="
              + signer.download_token(found.reference, name, found.subject_ref)) for name in artefacts(found)]
    letter = Letter.from_json(found.answer["letter"]) if found.answer and "letter" in found.answer else None
    until = found.answer_expires_at
    return {
        "req": found, "letter": letter, "files": files,
        "right": _right_names(request, lang).get(found.request_type, ""),
        "due": current_due(found, policy, now), "paused": found.state in WAITING_FOR_SUBJECT,
        "received": format_date(found.received_on, lang), "format_date": lambda d: format_date(d, lang),
        "download_hours": int(policy.download_ttl.total_seconds() // 3600),
        "available_until": format_date(until.date(), lang) if until else "",
        "can_cancel": found.state in OPEN and found.state not in ("executing", "approved"),
    }


@router.get("/requests/{reference}", response_class=HTMLResponse, include_in_schema=False)
def request_page(request: Request, reference: str, lang: str | None = Query(None),
                 notice: str | None = Query(None, max_length=40)) -> Response:
    """One of the subject's requests: its status, the letter, the files to download."""
    found, _ = _own_request(request, reference)
    chosen = _lang(request, get_manifest(request), lang or found.language)
    r = rights_strings(chosen)
    # Only known notices are shown, so a crafted link cannot make the page say anything.
    shown = r.get(notice) if notice in ("document_received", "cancelled_notice") else None
    return _page(request, "requests/status.html", chosen, notice=shown, error=None,
                 **_status_context(request, found, chosen))


@router.get("/requests/{reference}/files/{name}", include_in_schema=False)
def download(request: Request, reference: str, name: str, token: str = Query("", max_length=2000)) -> Response:
    """A file of the answer: needs the subject's session and a signed, unexpired link for exactly this file."""
    found, _ = _own_request(request, reference)
    if name not in artefacts(found):
        raise HTTPException(404, "file not found")
    try:
        rights_signer(request).check_download_token(
            token, reference=found.reference, artefact=name, subject_ref=found.subject_ref,
            max_age=rights_policy(request).download_ttl.total_seconds())
    except InvalidLink as exc:
        raise HTTPException(410 if exc.expired else 403, str(exc)) from None
    answer = found.answer or {}
    manifest = get_manifest(request)
    generated = found.closed_at or found.received_at
    filename = f"{found.reference}-{name}"
    body: str
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    if name == "report.html":
        body = report_html(answer["report"], found.language)
        headers["Content-Security-Policy"] = csp_allowing_styles_of(body)
    elif name == "report.json":
        body = json.dumps(answer["report"], ensure_ascii=False, indent=2, default=str) + "\n"
    elif name == "data.json":
        body = portability_json(answer["portable"], controller=manifest.controller.legal_name
                                or manifest.controller.name, reference=found.reference, generated_at=generated)
    else:
        body = portability_csv(answer["portable"])
    return Response(body, media_type=MEDIA[name], headers=headers)


@router.post("/requests/{reference}/document", response_class=HTMLResponse, include_in_schema=False)
async def send_document(request: Request, reference: str, file: UploadFile = File(...),
                        csrf_token: str = Form(""), lang: str | None = Query(None)) -> Response:
    """Receive the identity document asked for after a reasonable doubt."""
    found = _own_request_for_post(request, reference, csrf_token)
    chosen = _lang(request, get_manifest(request), lang or found.language)
    content = await file.read(MAX_DOCUMENT_BYTES + 1)
    try:
        with transaction(get_workspace(request).sessions) as session:
            current = find_request(session, found.reference, for_update=True)
            upload_document(session, services(request), current, file.filename or "document", content)
    except (InvalidDocument, NoChallenge):
        return _page(request, "requests/status.html", chosen, status_code=400, notice=None,
                     error=rights_strings(chosen)["err_document"], **_status_context(request, found, chosen))
    return RedirectResponse(f"/requests/{found.reference}?lang={chosen}&notice=document_received", status_code=303)


@router.post("/requests/{reference}/cancel", include_in_schema=False)
def cancel_request(request: Request, reference: str, csrf_token: str = Form(""),
                   lang: str | None = Query(None)) -> Response:
    """The subject withdraws their request."""
    found = _own_request_for_post(request, reference, csrf_token)
    chosen = _lang(request, get_manifest(request), lang or found.language)
    try:
        with transaction(get_workspace(request).sessions) as session:
            cancel_by_subject(session, services(request), find_request(session, found.reference, for_update=True))
    except LeaseLost as exc:
        raise HTTPException(409, str(exc)) from None
    return RedirectResponse(f"/requests/{found.reference}?lang={chosen}&notice=cancelled_notice", status_code=303)


# --- JSON ------------------------------------------------------------------------------------------------------

class RequestIn(BaseModel):
    """A rights request submitted by a machine client (the privacy center's own form posts HTML)."""

    type: str = Field(description="A request type of the manifest's rights (access, erasure, objection...).")
    email: str | None = Field(None, max_length=320, description="Where the code and the answer are sent.")
    identifiers: dict[str, str] = Field(default_factory=dict, description="The organisation's identifiers.")
    details: str | None = Field(None, max_length=5000)
    purposes: list[str] = Field(default_factory=list, description="Purposes an objection or withdrawal targets.")
    language: str | None = Field(None, max_length=5)
    verified_by: str | None = Field(None, max_length=60, pattern=r"^[a-z0-9_.:-]+$",
                                    description="Only with a token having requests:write: the subject was "
                                                "authenticated by the caller (e.g. their customer account).")


class RequestOut(BaseModel):
    """Where the request stands."""

    reference: str
    type: str
    state: str
    created: bool
    received_on: date
    due_on: date
    deadline_suspended: bool
    verify_url: str | None


def _out(found: RightsRequest, created: bool) -> RequestOut:
    return RequestOut(reference=found.reference, type=found.request_type, state=found.state, created=created,
                      received_on=found.received_on, due_on=found.due_on,
                      deadline_suspended=found.state in WAITING_FOR_SUBJECT,
                      verify_url=f"/requests/verify?reference={found.reference}"
                      if found.state == "awaiting_verification" else None)


@router.post("/api/v1/requests", tags=["requests"], status_code=201, response_model=RequestOut,
             summary="Submit a data-subject request",
             responses={200: {"description": "An identical request is already open: that one is returned."},
                        422: {"description": "Invalid request (field errors)."},
                        429: {"description": "Too many requests."}})
def create_request(body: RequestIn, request: Request, background: BackgroundTasks,
                   credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Response:
    """Record a request and mail the subject a code and a link to confirm it (the deadline waits for them)."""
    verified_by = None
    if body.verified_by is not None:
        token = authenticate_bearer(request, credentials)
        if "requests:write" not in token.scopes:
            raise HTTPException(403, "verified_by needs the scope requests:write")
        verified_by = f"{token.name}:{body.verified_by}"
    submission = Submission(body.type, email=body.email, identifiers=body.identifiers, details=body.details,
                            purposes=body.purposes, language=body.language, channel="api")
    try:
        with transaction(get_workspace(request).sessions) as session:
            result = receive(session, services(request), submission, address=client_address(request),
                             verified_by=verified_by)
            out = _out(result.request, result.created)
    except InvalidSubmission as exc:
        return JSONResponse({"detail": "invalid request", "errors": exc.errors}, status_code=422)
    except TooManyRequests as exc:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": str(exc.retry_after)})
    follow_up(request, background, out.reference, out.state)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if out.created else 200)


@router.get("/api/v1/requests/{reference}", tags=["requests"], response_model=RequestOut,
            summary="A request of the signed-in subject",
            responses={404: {"description": "No such request for this subject."}})
def request_status(request: Request, reference: str) -> RequestOut:
    """Needs the subject's session cookie (set after verification); another subject's request is a 404."""
    found, _ = _own_request(request, reference)
    return _out(found, False)
