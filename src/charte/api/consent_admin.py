"""The dashboard's consent page: rates per category and purpose over time, one person's record, links."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.responses import Response

from charte.api.consent_support import app_clock, base_url, link_signer
from charte.api.deps import Principal, admin_language, get_manifest, get_workspace, require_role
from charte.api.views import render
from charte.consent import InvalidSubject, UnknownSubject, consent_proof, parse_subject
from charte.consent.export import subject_summary
from charte.consent.links import preferences_link
from charte.consent.stats import Series, consent_rates, last_months
from charte.manifest import Manifest, tr
from charte.rights.restriction import RESTRICTIONS
from charte.store.consent import ConsentEvent
from charte.web.consent_chart import line_chart
from charte.web.i18n import strings
from charte.web.i18n_consent import consent_strings

router = APIRouter(prefix="/admin/consents", include_in_schema=False)

MONTHS = 12
HISTORY_LIMIT = 200
any_role = require_role()
dpo_or_admin = require_role("admin", "dpo")


def _name(manifest: Manifest, series: Series, lang: str) -> str:
    if series.scope.value == "category":
        category = manifest.cookies.categories.get(series.key)
        return tr(category.name, lang) if category else series.key
    purpose = manifest.purposes.get(series.key)
    return tr(purpose.name, lang) if purpose else series.key


def _page(request: Request, principal: Principal, *, subject_text: str = "", made_link: str | None = None,
          link_error: str | None = None, status_code: int = 200) -> Response:
    manifest = get_manifest(request)
    lang, lang_param = admin_language(request)
    t = consent_strings(strings(lang), lang)
    clock = app_clock(request)
    periods = last_months(MONTHS, clock=clock)
    lookup: dict[str, Any] | None = None
    error = None
    with get_workspace(request).sessions() as session:
        rates = consent_rates(session, months=MONTHS, clock=clock)
        if subject_text:
            try:
                key = parse_subject(subject_text)
                summary = subject_summary(session, manifest, key, clock=clock, restrictions=RESTRICTIONS)
                history = list(session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == summary.id)
                                               .order_by(ConsentEvent.id.desc()).limit(HISTORY_LIMIT)))
                lookup = {"key": str(key), "summary": summary, "history": history}
            except InvalidSubject as exc:
                error = str(exc)
            except UnknownSubject:
                error = t["unknown_subject"].format(subject=subject_text)
    charts = []
    for scope, heading in (("category", t["scope_category"]), ("purpose", t["scope_purpose"])):
        chosen = [s for s in rates if s.scope.value == scope and any(m.rate is not None for m in s.months.values())]
        if chosen:
            charts.append({"id": f"chart-{scope}", "heading": heading, "series": chosen, "chart": line_chart(
                periods, [(_name(manifest, s, lang), [s.months[p].rate for p in periods]) for s in chosen])})
    return render(request, "admin/consents.html", lang=lang, lang_param=lang_param, principal=principal,
                  status_code=status_code, t=t, periods=periods, charts=charts, rates=rates,
                  names={(s.scope.value, s.key): _name(manifest, s, lang) for s in rates}, lookup=lookup,
                  error=error, subject_text=subject_text, made_link=made_link, link_error=link_error)


@router.get("")
def consents(request: Request, subject: str = Query(""), principal: Principal = Depends(any_role)) -> Response:
    """Consent rates month by month (chart and table), choices in force, and a person's record on request."""
    return _page(request, principal, subject_text=subject.strip())


@router.get("/proof")
def proof_download(request: Request, subject: str = Query(...), principal: Principal = Depends(any_role)) -> Response:
    """A person's proof of consent as a JSON file."""
    try:
        key = parse_subject(subject)
    except InvalidSubject as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    with get_workspace(request).sessions() as session:
        try:
            record = consent_proof(session, get_manifest(request), key, clock=app_clock(request))
        except UnknownSubject as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
    filename = f"consent-proof-{record['pii_principal']['id']}.json"
    return JSONResponse(record, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/preferences-link")
def make_preferences_link(request: Request, subject: str = Form(...),
                          principal: Principal = Depends(dpo_or_admin)) -> Response:
    """A signed preferences link to send to the person (emailing it is the mail feature's)."""
    try:
        key = parse_subject(subject)
        link = preferences_link(link_signer(request), base_url(request), key)
    except InvalidSubject as exc:
        return _page(request, principal, link_error=str(exc), status_code=422)
    return _page(request, principal, subject_text=str(key), made_link=link)
