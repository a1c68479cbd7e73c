"""FastAPI dependencies: the workspace, the signed-in dashboard user, roles with CSRF, API tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from charte.auth import InvalidSession, InvalidToken, SessionSigner, TokenCache, TokenGrant, active_user, csrf_matches
from charte.manifest import Manifest
from charte.web.i18n import UI_LANGUAGES, negotiate_language
from charte.workspace import Workspace

SESSION_COOKIE = "charte_session"
LOGIN_CSRF_COOKIE = "charte_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMIN_DEFAULT_LANGUAGE = "fr"


class LoginRequired(Exception):
    """No valid session: HTML requests are sent to the login page, JSON ones get 401."""


@dataclass(frozen=True)
class Principal:
    """The signed-in dashboard user, as of this request."""

    user_id: int
    username: str
    role: str
    csrf: str


def get_workspace(request: Request) -> Workspace:
    """The workspace the app was created with."""
    workspace: Workspace = request.app.state.workspace
    return workspace


def get_manifest(request: Request) -> Manifest:
    """The manifest loaded at startup."""
    manifest: Manifest = request.app.state.manifest
    return manifest


def get_signer(request: Request) -> SessionSigner:
    """The session signer built at startup from the secret key."""
    signer: SessionSigner = request.app.state.signer
    return signer


def get_token_cache(request: Request) -> TokenCache:
    """The app's cache of verified API tokens."""
    cache: TokenCache = request.app.state.token_cache
    return cache


def bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """The request's ``Authorization: Bearer …`` credentials, read as FastAPI's HTTPBearer reads them."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=value.strip())


def authenticate_bearer(request: Request, credentials: HTTPAuthorizationCredentials | None) -> TokenGrant:
    """The grant of the request's bearer token; HTTP 401 when it is missing, unknown or revoked."""
    if credentials is None:
        raise HTTPException(401, "an API token is required", headers={"WWW-Authenticate": "Bearer"})
    try:
        return get_token_cache(request).authenticate(credentials.credentials)
    except InvalidToken:
        raise HTTPException(401, "invalid API token",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None


def client_address(request: Request) -> str:
    """The peer address (uvicorn puts the proxy's X-Forwarded-For here only for trusted proxies)."""
    return request.client.host if request.client else "unknown"


def admin_language(request: Request) -> tuple[str, str | None]:
    """The dashboard's language, and the ``lang`` to carry in links when the visitor chose one."""
    query = request.query_params.get("lang")
    lang = negotiate_language(query, request.headers.get("accept-language"), UI_LANGUAGES, ADMIN_DEFAULT_LANGUAGE)
    return lang, (lang if query and query.lower() == lang else None)


def current_principal(request: Request) -> Principal | None:
    """The user of a valid session cookie who is still active with the same role, else None."""
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    try:
        data = get_signer(request).loads(value)
    except InvalidSession:
        return None
    with get_workspace(request).sessions() as session:
        user = active_user(session, data.user_id)
    # A changed role or a deactivation ends existing sessions at once, although cookies are stateless.
    if user is None or user.role != data.role:
        return None
    return Principal(user.id, user.username, user.role, data.csrf)


async def _submitted_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def require_role(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting signed-in users with one of ``roles`` (any role when none is given).

    Every state-changing method must also carry the session's CSRF token, in the form or a header.
    """

    async def dependency(request: Request) -> Principal:
        principal = await run_in_threadpool(current_principal, request)
        if principal is None:
            raise LoginRequired
        if request.method in UNSAFE_METHODS and not csrf_matches(principal.csrf, await _submitted_csrf(request)):
            raise HTTPException(403, "CSRF token missing or invalid")
        if roles and principal.role not in roles:
            raise HTTPException(403, f"this needs the role {' or '.join(roles)}")
        return principal

    return dependency


_bearer = HTTPBearer(auto_error=False, scheme_name="ApiToken", description="An API token: `chrt_<prefix>_<secret>`.")


def require_token(*scopes: str) -> Callable[..., TokenGrant]:
    """A dependency admitting machine clients whose bearer token is live and has all ``scopes``."""

    def dependency(request: Request,
                   credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> TokenGrant:
        token = authenticate_bearer(request, credentials)
        missing = sorted(set(scopes) - set(token.scopes))
        if missing:
            challenge = f'Bearer error="insufficient_scope" scope="{" ".join(scopes)}"'
            raise HTTPException(403, f"the token lacks the scope(s) {', '.join(missing)}",
                                headers={"WWW-Authenticate": challenge})
        return token

    return dependency
