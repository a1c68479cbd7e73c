"""Public routes: the privacy center, the policy page, the policy as JSON, health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from charte.api.deps import get_manifest, get_workspace
from charte.api.views import render
from charte.manifest import Manifest
from charte.manifest.public import public_policy
from charte.store.models import LedgerHead
from charte.web.i18n import LANGUAGE_NAMES, negotiate_language
from charte.workspace import Workspace

router = APIRouter()

def visitor_language(request: Request, manifest: Manifest, lang: str | None) -> str:
    """``?lang=`` when the manifest offers it, else Accept-Language, else the manifest's default."""
    return negotiate_language(lang, request.headers.get("accept-language"), manifest.languages,
                              manifest.default_language)


@router.get("/healthz", tags=["health"], summary="Liveness and store reachability")
def healthz(workspace: Workspace = Depends(get_workspace)) -> JSONResponse:
    """Whether the store answers, and the ledger's head sequence number."""
    try:
        with workspace.sessions() as session:
            session.execute(text("SELECT 1"))
            head = session.scalar(select(LedgerHead.seq).where(LedgerHead.id == 1))
    except SQLAlchemyError:
        # The reason stays in the server's logs: a public endpoint must not describe the database.
        return JSONResponse({"status": "unavailable", "database": False, "ledger_head_seq": None}, 503)
    return JSONResponse({"status": "ok", "database": True, "ledger_head_seq": head or 0})


@router.get("/api/v1/policy", tags=["policy"], summary="The public confidentiality policy as data")
def policy_json(manifest: Manifest = Depends(get_manifest)) -> dict[str, Any]:
    """Controller, DPO, authority, versions, categories, purposes, recipients, rights, cookies, measures."""
    return public_policy(manifest)


@router.get("/policy", response_class=HTMLResponse, include_in_schema=False)
def policy_page(request: Request, lang: str | None = Query(None),
                manifest: Manifest = Depends(get_manifest)) -> Response:
    """The policy page in the visitor's language, rendered once at startup."""
    chosen = visitor_language(request, manifest, lang)
    page: str = request.app.state.policy_pages[chosen]
    return HTMLResponse(page, headers={"Content-Language": chosen, "Vary": "Accept-Language",
                                       "Content-Security-Policy": request.app.state.policy_csp[chosen]})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def privacy_center(request: Request, lang: str | None = Query(None),
                   manifest: Manifest = Depends(get_manifest)) -> Response:
    """The privacy center's landing page: links to what exists, nothing more."""
    chosen = visitor_language(request, manifest, lang)
    return render(
        request, "index.html", lang=chosen, languages=manifest.languages,
        headers={"Vary": "Accept-Language"},
        last_modified=manifest.policy.last_modified,
        policy_languages=[(code, LANGUAGE_NAMES.get(code, code)) for code in manifest.languages],
        dpo_email=manifest.dpo.email,
        complaint_url=manifest.supervisory_authority.complaint_url,
        authority=manifest.supervisory_authority.name,
    )
