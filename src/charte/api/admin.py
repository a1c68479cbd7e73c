"""The DPO dashboard under ``/admin``: login, ledger, users and API tokens (the overview is in ``dashboard``)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from charte.api.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    admin_language,
    client_address,
    current_principal,
    get_signer,
    get_token_cache,
    get_workspace,
    require_role,
)
from charte.api.views import render
from charte.auth import (
    ROLES,
    InvalidCredentials,
    InvalidSession,
    LoginLimits,
    TokenExists,
    TooManyAttempts,
    UnknownRole,
    UnknownToken,
    UserExists,
    WeakPassword,
    authenticate,
    create_token,
    create_user,
    csrf_matches,
    list_tokens,
    list_users,
    new_csrf_token,
    revoke_token,
)
from charte.store import transaction
from charte.store.models import AdminUser, LedgerEvent, LedgerHead
from charte.web.i18n import strings
from charte.web.templating import with_query

router = APIRouter(prefix="/admin", include_in_schema=False)

LEDGER_PAGE = 50
_SAFE_NEXT = re.compile(r"^/admin(?:/[A-Za-z0-9/_.-]*)?(?:\?[A-Za-z0-9=&_.-]*)?$")

any_role = require_role()
admin_only = require_role("admin")


def _safe_next(target: str | None) -> str:
    # Only dashboard paths: a login form must never become an open redirect.
    return target if target and _SAFE_NEXT.match(target) else "/admin"


def _actor(principal: Principal) -> str:
    return f"admin:{principal.username}"


def _set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int, path: str) -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax",
                        secure=get_workspace(request).settings.secure_cookies)


def _login_page(request: Request, *, status_code: int = 200, error: str | None = None, username: str = "",
                next_url: str = "/admin", headers: dict[str, str] | None = None) -> Response:
    lang, lang_param = admin_language(request)
    token = new_csrf_token()
    response = render(request, "admin/login.html", lang=lang, lang_param=lang_param, status_code=status_code,
                      headers=headers, csrf_token=token, error=error, username=username, next=next_url)
    signer = get_signer(request)
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, signer.sign_login_csrf(token), max_age=signer.max_age,
                path="/admin")
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = Query(None)) -> Response:
    """The login form, with a CSRF token bound to a signed cookie."""
    if current_principal(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), csrf_token: str = Form(""),
          next: str = Form("/admin")) -> Response:
    """Check the credentials; on success start a signed session and go on to ``next``."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    try:
        expected = get_signer(request).unsign_login_csrf(cookie) if cookie else None
    except InvalidSession:
        expected = None
    if not csrf_matches(expected, csrf_token):
        raise HTTPException(403, "CSRF token missing or invalid")
    workspace = get_workspace(request)
    t = strings(admin_language(request)[0])
    with workspace.sessions() as session:
        try:
            user = authenticate(session, username, password, client_address(request),
                                limits=LoginLimits.from_settings(workspace.settings))
        except TooManyAttempts as exc:
            minutes = max(1, -(-exc.retry_after // 60))
            return _login_page(request, status_code=429, error=t["too_many_attempts"].format(minutes=minutes),
                               username=username, next_url=_safe_next(next),
                               headers={"Retry-After": str(exc.retry_after)})
        except InvalidCredentials:
            session.commit()  # the failure must count towards the limit
            return _login_page(request, status_code=401, error=t["invalid_credentials"], username=username,
                               next_url=_safe_next(next))
        session.commit()
    signer = get_signer(request)
    _, value = signer.issue(user.id, user.role)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, value, max_age=signer.max_age, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
    return response


@router.post("/logout")
def logout(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """End the session in this browser."""
    _, lang_param = admin_language(request)
    response = RedirectResponse(with_query("/admin/login", lang=lang_param), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/ledger")
def ledger(request: Request, before: int | None = Query(None, ge=1),
           principal: Principal = Depends(any_role)) -> Response:
    """The newest events, ``LEDGER_PAGE`` at a time, older ones through ``?before=<seq>``."""
    lang, lang_param = admin_language(request)
    with get_workspace(request).sessions() as session:
        total = session.scalar(select(LedgerHead.seq).where(LedgerHead.id == 1)) or 0
        query = select(LedgerEvent).order_by(LedgerEvent.seq.desc()).limit(LEDGER_PAGE)
        if before is not None:
            query = query.where(LedgerEvent.seq < before)
        events = list(session.scalars(query))
    newer_url = older_url = None
    if before is not None and before <= total:
        newer = before + LEDGER_PAGE
        newer_url = with_query("/admin/ledger", before=newer if newer <= total else None, lang=lang_param)
    if events and events[-1].seq > 1:
        older_url = with_query("/admin/ledger", before=events[-1].seq, lang=lang_param)
    return render(request, "admin/ledger.html", lang=lang, lang_param=lang_param, principal=principal,
                  events=events, total=total, newer_url=newer_url, older_url=older_url)


def _users_page(request: Request, principal: Principal, *, status_code: int = 200, **context: Any) -> Response:
    lang, lang_param = admin_language(request)
    with get_workspace(request).sessions() as session:
        users = list_users(session)
    defaults = {"notice": None, "error": None, "form_username": "", "form_role": "dpo"}
    return render(request, "admin/users.html", lang=lang, lang_param=lang_param, principal=principal,
                  status_code=status_code, users=users, roles=ROLES, **{**defaults, **context})


@router.get("/users")
def users(request: Request, created: str | None = Query(None), principal: Principal = Depends(admin_only)) -> Response:
    """Every dashboard user, and a form to add one."""
    t = strings(admin_language(request)[0])
    # Shown only for a user that exists, so a crafted link cannot make the page announce anything.
    with get_workspace(request).sessions() as session:
        known = created is not None and any(u.username == created for u in list_users(session))
    return _users_page(request, principal, notice=t["user_created"].format(username=created) if known else None)


@router.post("/users")
def add_user(request: Request, username: str = Form(...), password: str = Form(...), role: str = Form(...),
             principal: Principal = Depends(admin_only)) -> Response:
    """Create a dashboard user."""
    try:
        with transaction(get_workspace(request).sessions) as session:
            user = create_user(session, username, password, role, actor=_actor(principal))
    except (WeakPassword, UnknownRole, ValueError) as exc:
        status = 409 if isinstance(exc, UserExists) else 400
        return _users_page(request, principal, status_code=status, error=str(exc), form_username=username,
                           form_role=role)
    _, lang_param = admin_language(request)
    return RedirectResponse(with_query("/admin/users", created=user.username, lang=lang_param), status_code=303)


def _tokens_page(request: Request, principal: Principal, *, status_code: int = 200, **context: Any) -> Response:
    lang, lang_param = admin_language(request)
    with get_workspace(request).sessions() as session:
        tokens = list_tokens(session)
    defaults = {"notice": None, "error": None, "clear_token": None, "form_name": "", "form_scopes": ""}
    return render(request, "admin/tokens.html", lang=lang, lang_param=lang_param, principal=principal,
                  status_code=status_code, tokens=tokens, **{**defaults, **context})


@router.get("/tokens")
def tokens(request: Request, revoked: str | None = Query(None),
           principal: Principal = Depends(admin_only)) -> Response:
    """API tokens (never their values), and a form to create one."""
    t = strings(admin_language(request)[0])
    with get_workspace(request).sessions() as session:
        known = revoked is not None and any(tok.name == revoked and tok.revoked_at for tok in list_tokens(session))
    return _tokens_page(request, principal, notice=t["token_revoked"].format(name=revoked) if known else None)


@router.post("/tokens")
def add_token(request: Request, name: str = Form(...), scopes: str = Form(""),
              principal: Principal = Depends(admin_only)) -> Response:
    """Create an API token and show its value this once."""
    try:
        with transaction(get_workspace(request).sessions) as session:
            creator = session.get(AdminUser, principal.user_id)
            token, clear = create_token(session, name, scopes.split(), created_by=creator)
    except (TokenExists, ValueError) as exc:
        return _tokens_page(request, principal, status_code=409 if isinstance(exc, TokenExists) else 400,
                            error=str(exc), form_name=name, form_scopes=scopes)
    t = strings(admin_language(request)[0])
    # Rendered directly, not redirected: the clear value must never sit in a URL or be fetchable again.
    return _tokens_page(request, principal, status_code=201, clear_token=clear,
                        notice=t["token_created"].format(name=token.name))


@router.post("/tokens/revoke")
def remove_token(request: Request, name: str = Form(...), principal: Principal = Depends(admin_only)) -> Response:
    """Revoke an API token: clients get 401 from now on here, within ``token_cache_seconds`` on other servers."""
    try:
        with transaction(get_workspace(request).sessions) as session:
            token = revoke_token(session, name, actor=_actor(principal))
    except UnknownToken as exc:
        raise HTTPException(404, str(exc)) from None
    get_token_cache(request).forget(token.name)
    _, lang_param = admin_language(request)
    return RedirectResponse(with_query("/admin/tokens", revoked=token.name, lang=lang_param), status_code=303)
