"""The FastAPI application: built once per workspace, with the manifest and policy pages loaded at startup."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from charte import __version__
from charte.api import (
    admin,
    admin_breaches,
    consent_admin,
    consent_api,
    consent_public,
    dashboard,
    integration,
    preferences,
    public,
    requests_admin,
    requests_public,
)
from charte.api.deps import LoginRequired, admin_language
from charte.api.headers import SecurityHeaders, csp_allowing_styles_of
from charte.api.views import render
from charte.auth import SessionSigner, TokenCache
from charte.render import render_policy
from charte.web.i18n import strings
from charte.web.templating import STATIC, with_query
from charte.workspace import Workspace


def _is_admin_html(request: Request) -> bool:
    path = request.url.path
    if not (path == "/admin" or path.startswith("/admin/")):
        return False
    accept = request.headers.get("accept", "")
    # Browsers always list text/html; a client that asks only for JSON gets JSON.
    return not ("application/json" in accept and "text/html" not in accept)


async def _login_required(request: Request, exc: Exception) -> Response:
    if _is_admin_html(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        _, lang_param = admin_language(request)
        return RedirectResponse(with_query("/admin/login", next=target, lang=lang_param), status_code=303)
    return JSONResponse({"detail": "authentication required"}, status_code=401)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if not _is_admin_html(request):
        return await http_exception_handler(request, exc)
    lang, lang_param = admin_language(request)
    t = strings(lang)
    message = {403: t["forbidden"], 404: t["not_found"]}.get(exc.status_code, str(exc.detail))
    return render(request, "error.html", lang=lang, lang_param=lang_param, status_code=exc.status_code,
                  headers=getattr(exc, "headers", None), status_code_text=exc.status_code, message=message)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Everything built at start-up (manifest, routes, models, compiled templates) lives as long as the process:
    # moved out of the garbage collector's sight, it is not traversed again by every full collection.
    gc.collect()
    gc.freeze()
    yield
    connections = getattr(app.state, "hot_connections", None)
    if connections is not None:
        connections.close()
    gc.unfreeze()  # an app served and stopped inside a longer process (tests) leaves nothing frozen behind


def create_app(workspace: Workspace) -> FastAPI:
    """The web app for ``workspace``; fails at once if the secret key, store or manifest is not usable."""
    signer = SessionSigner.from_settings(workspace.settings)  # MissingSecretKey / InsecureSecretKey
    workspace.ready()
    manifest = workspace.manifest
    app = FastAPI(
        title=f"Charte — {manifest.controller.name}",
        version=__version__,
        summary="The confidentiality policy as code.",
        openapi_url="/openapi.json",
        # Swagger UI and ReDoc load scripts from a CDN and inline code, which the CSP forbids.
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.workspace = workspace
    app.state.manifest = manifest
    app.state.signer = signer
    app.state.token_cache = TokenCache(workspace.sessions, workspace.settings.token_cache_seconds)
    # The manifest does not change while the process runs, so each language's page is rendered once.
    app.state.policy_pages = {lang: render_policy(manifest, lang, "html") for lang in manifest.languages}
    # The rendered page carries its stylesheet inline; admit exactly that text by hash, never 'unsafe-inline'.
    app.state.policy_csp = {lang: csp_allowing_styles_of(page) for lang, page in app.state.policy_pages.items()}
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Routes are matched in order: the permission check, called by every integration, is tried first.
    app.include_router(consent_api.hot_router)
    app.include_router(consent_api.router)
    app.include_router(public.router)
    app.include_router(integration.router)
    app.include_router(admin.router)
    app.include_router(dashboard.router)
    app.include_router(admin_breaches.router)
    app.include_router(consent_public.router)
    app.include_router(preferences.router)
    app.include_router(consent_admin.router)
    app.include_router(requests_public.router)
    app.include_router(requests_admin.router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    return app
