"""The dashboard's overview (what needs attention today), policy versions and the record of processing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from starlette.responses import Response

from charte.api.deps import Principal, admin_language, get_manifest, get_workspace, require_role
from charte.api.views import render
from charte.breaches import texts as breach_texts
from charte.dashboard import OverviewContext, collect
from charte.ledger import utcnow
from charte.manifest.publication import manifest_digest, publications
from charte.render import export_ropa

router = APIRouter(prefix="/admin", include_in_schema=False)

any_role = require_role()

_ROPA_MAIN = re.compile(r'<main id="ropa">\s*<h1>[^<]*</h1>(.*)</main>', re.DOTALL)


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock()


@router.get("")
def overview(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """What needs attention today: each registered section (requests, breaches, consents, retention, ledger)."""
    manifest = get_manifest(request)
    lang, lang_param = admin_language(request)
    now = _now(request)
    with get_workspace(request).sessions() as session:
        sections = collect(OverviewContext(session, manifest, now, lang))
    return render(request, "admin/overview.html", lang=lang, lang_param=lang_param, principal=principal,
                  sections=sections, controller=manifest.controller, last_modified=manifest.policy.last_modified,
                  label=lambda key, **values: breach_texts.label(key, lang, **values),
                  when=lambda instant: breach_texts.format_instant(instant, lang),
                  left=lambda breach: breach_texts.format_time_left(breach.time_left(now), lang), now=now)


@router.get("/policy")
def policy_versions(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """The policy's dated versions (manifest) and the publications recorded in the ledger."""
    manifest = get_manifest(request)
    lang, lang_param = admin_language(request)
    with get_workspace(request).sessions() as session:
        published = publications(session)
    current = manifest_digest(manifest)
    return render(request, "admin/policy.html", lang=lang, lang_param=lang_param, principal=principal,
                  versions=sorted(manifest.policy.versions, key=lambda v: v.date, reverse=True),
                  publications=published, current_digest=current,
                  current_published=any(p.manifest_sha256 == current for p in published))


@router.get("/ropa")
def ropa(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """The Art. 30 record of processing, as rendered by ``charte ropa export``, with its downloads."""
    manifest = get_manifest(request)
    lang, lang_param = admin_language(request)
    document = export_ropa(manifest, "html", lang).decode("utf-8")
    match = _ROPA_MAIN.search(document)
    # Our own autoescaped rendering: its table is safe to embed; its inline stylesheet is left out (CSP).
    table = Markup(match.group(1)) if match else Markup("")  # noqa: S704
    return render(request, "admin/ropa.html", lang=lang, lang_param=lang_param, principal=principal, table=table)


def _ropa_download(request: Request, fmt: str) -> Response:
    lang, _ = admin_language(request)
    data = export_ropa(get_manifest(request), fmt, lang)  # type: ignore[arg-type]
    media = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="ropa-{lang}.{fmt}"'})


@router.get("/ropa.csv")
def ropa_csv(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """The record of processing as CSV."""
    return _ropa_download(request, "csv")


@router.get("/ropa.xlsx")
def ropa_xlsx(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """The record of processing as an XLSX workbook."""
    return _ropa_download(request, "xlsx")
