"""Dashboard pages of the breach register: list, record, detail with its clock, documents, notifications, export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from charte.api.deps import Principal, admin_language, get_manifest, get_workspace, require_role
from charte.api.headers import ADMIN_CSP, PUBLIC_CSP, csp_allowing_styles_of
from charte.api.views import render
from charte.breaches import (
    ART34_EXCEPTIONS,
    CHANNELS,
    NATURES,
    RISK_LEVELS,
    AffectedCollection,
    Breach,
    BreachFacts,
    CountingError,
    InvalidBreach,
    LetterIncomplete,
    NothingChanged,
    OutboxSender,
    SubjectCommunicationNotRequired,
    SystemDatabases,
    UnknownBreach,
    affected_recipients,
    annotated_collections,
    complete_counts,
    email_field,
    export_register,
    get_breach,
    inform_subjects,
    list_breaches,
    next_phase,
    outbox_folder,
    read_recipients_csv,
    record_breach,
    record_communication,
    record_notification,
    render_cnil_draft,
    render_subject_letter,
    system_environment,
    update_breach,
)
from charte.breaches import texts as breach_texts
from charte.breaches.facts import TRANSLATABLE
from charte.breaches.texts import InvalidInstant, form_instant, parse_instant
from charte.ledger import utcnow
from charte.manifest.models import Manifest, tr
from charte.store import transaction
from charte.web.i18n import LANGUAGE_NAMES, strings
from charte.web.templating import with_query

router = APIRouter(prefix="/admin/breaches", include_in_schema=False)

any_role = require_role()
writer = require_role("admin", "dpo")

#: Form fields holding free text, copied back into the form when it is shown again.
_TEXT_FIELDS = ("title", "description", "other_systems", "consequences", "measures_taken", "measures_planned",
                "subject_advice", "risk_reasoning", "art34_reasoning", "change_note")


def _now(request: Request) -> datetime:
    # Tests put a fixed clock on the app; otherwise the real time.
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock()


def _actor(principal: Principal) -> str:
    return f"admin:{principal.username}"


def _breach_or_404(request: Request, breach_id: int) -> Breach:
    with get_workspace(request).sessions() as session:
        try:
            return get_breach(session, breach_id)
        except UnknownBreach as exc:
            raise HTTPException(404, str(exc)) from None


def _helpers(manifest: Manifest, lang: str, now: datetime) -> dict[str, Any]:
    # Formatting for the templates, so they stay free of rules about time zones and wording.
    return {
        "label": lambda key, **values: breach_texts.label(key, lang, **values),
        "when": lambda instant: breach_texts.format_instant(instant, lang),
        "left": lambda breach: breach_texts.format_time_left(breach.time_left(now), lang),
        "decision": lambda facts: breach_texts.art34_decision(facts.risk, facts.art34_exception, lang),
        "category_name": lambda key: tr(manifest.data_categories[key].name, lang)
        if key in manifest.data_categories else key,
        "subject_name": lambda key: tr(manifest.data_subjects[key].name, lang)
        if key in manifest.data_subjects else key,
        "systems_of": lambda facts: "; ".join(
            [manifest.systems[k].name if k in manifest.systems else k for k in facts.systems]
            + ([facts.other_systems] if facts.other_systems else [])),
        "now": now,
        "zone": breach_texts.label("zone", lang),
    }


def _page(request: Request, principal: Principal, template: str, *, status_code: int = 200,
          **context: Any) -> Response:
    lang, lang_param = admin_language(request)
    manifest = get_manifest(request)
    return render(request, template, lang=lang, lang_param=lang_param, principal=principal, status_code=status_code,
                  **_helpers(manifest, lang, _now(request)), can_write=principal.role in ("admin", "dpo"),
                  **context)


# --- the register ------------------------------------------------------------------------------------------------


@router.get("")
def breaches(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """Every breach with its status and, while notification is due, its clock."""
    with get_workspace(request).sessions() as session:
        found = list_breaches(session)
    return _page(request, principal, "admin/breaches/list.html", breaches=found)


def _export(request: Request, fmt: str) -> Response:
    lang, _ = admin_language(request)
    with get_workspace(request).sessions() as session:
        found = list_breaches(session)
    data = export_register(found, get_manifest(request), fmt, lang, _now(request))  # type: ignore[arg-type]
    media = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]
    name = f"breach-register-{_now(request).date().isoformat()}.{fmt}"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/export.csv")
def export_csv(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """The register as CSV."""
    return _export(request, "csv")


@router.get("/export.xlsx")
def export_xlsx(request: Request, principal: Principal = Depends(any_role)) -> Response:
    """The register as an XLSX workbook."""
    return _export(request, "xlsx")


# --- recording and correcting ----------------------------------------------------------------------------------


def _form_values(facts: BreachFacts | None, now: datetime, default_language: str) -> dict[str, Any]:
    if facts is None:
        return {**dict.fromkeys(_TEXT_FIELDS, ""), "aware_at": form_instant(now), "occurred_at": "",
                "nature": [], "systems": [], "data_categories": [], "data_subjects": [], "collection": [],
                "collections_text": "", "subject_collections_text": "", "subjects_count": "", "records_count": "",
                "risk": "risk", "art34_exception": "", "text_language": default_language, "translations": {}}
    annotated = {c.label for c in facts.collections}
    return {
        **{name: getattr(facts, name, "") for name in _TEXT_FIELDS if name != "change_note"}, "change_note": "",
        "aware_at": form_instant(facts.aware_at), "occurred_at": form_instant(facts.occurred_at),
        "nature": list(facts.nature), "systems": list(facts.systems), "data_categories": list(facts.data_categories),
        "data_subjects": list(facts.data_subjects), "collection": sorted(annotated),
        "collections_text": "\n".join(c.label for c in facts.collections if not c.holds_subjects),
        "subject_collections_text": "\n".join(c.label for c in facts.collections if c.holds_subjects),
        "subjects_count": "" if facts.subjects_count is None or facts.counts_method == "counted"
        else str(facts.subjects_count),
        "records_count": "" if facts.records_count is None or facts.counts_method == "counted"
        else str(facts.records_count),
        "risk": facts.risk, "art34_exception": facts.art34_exception or "", "text_language": facts.text_language,
        "translations": facts.translations,
    }


def _submitted_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in _TEXT_FIELDS}
    for name in ("aware_at", "occurred_at", "collections_text", "subject_collections_text", "subjects_count",
                 "records_count", "risk", "art34_exception", "text_language"):
        values[name] = str(form.get(name, ""))
    for name in ("nature", "systems", "data_categories", "data_subjects", "collection"):
        values[name] = [str(v) for v in form.getlist(name)]
    values["translations"] = {
        lang: {name: str(form.get(f"tr_{lang}_{name}", "")) for name in TRANSLATABLE}
        for lang in ("fr", "en")
    }
    return values


def _count(text: str, what: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text.replace(" ", "").replace("\u202f", "").replace(",", ""))
    except ValueError:
        raise InvalidBreach(f"{what} must be a whole number") from None


def _manifest_dir(request: Request) -> Path:
    return get_workspace(request).settings.manifest_path.parent


def _databases(request: Request) -> SystemDatabases:
    # System URLs name variables of the workspace's .env (the demo database) or of the process environment.
    home = get_workspace(request).settings.home
    return SystemDatabases.from_manifest(get_manifest(request), system_environment(home))


def _facts_from(values: dict[str, Any], manifest: Manifest, manifest_dir: Path) -> BreachFacts:
    # Translation from the form to the domain; every rule is checked by the domain itself.
    try:
        aware_at = parse_instant(values["aware_at"])
        occurred_at = parse_instant(values["occurred_at"]) if values["occurred_at"].strip() else None
    except InvalidInstant as exc:
        raise InvalidBreach(str(exc)) from None
    annotated = {c.label: c for c in annotated_collections(manifest, manifest_dir)}
    collections = [annotated[label] for label in values["collection"] if label in annotated]
    collections += [AffectedCollection.parse(line) for line in values["collections_text"].splitlines()
                    if line.strip()]
    collections += [AffectedCollection.parse(line, holds_subjects=True)
                    for line in values["subject_collections_text"].splitlines() if line.strip()]
    text_language = values["text_language"] if values["text_language"] in manifest.languages \
        else manifest.default_language
    translations = {lang: {k: v.strip() for k, v in texts.items() if v.strip()}
                    for lang, texts in values["translations"].items() if lang != text_language}
    return BreachFacts(
        title=values["title"].strip(), aware_at=aware_at, occurred_at=occurred_at,
        nature=tuple(n for n in NATURES if n in values["nature"]),
        description=values["description"].strip(), systems=tuple(values["systems"]),
        other_systems=values["other_systems"].strip(), data_categories=tuple(values["data_categories"]),
        data_subjects=tuple(values["data_subjects"]), collections=tuple(dict.fromkeys(collections)),
        subjects_count=_count(values["subjects_count"], "the number of people"),
        records_count=_count(values["records_count"], "the number of records"),
        consequences=values["consequences"].strip(), measures_taken=values["measures_taken"].strip(),
        measures_planned=values["measures_planned"].strip(), subject_advice=values["subject_advice"].strip(),
        risk=values["risk"], risk_reasoning=values["risk_reasoning"].strip(),  # checked by check_facts
        art34_exception=values["art34_exception"] or None,
        art34_reasoning=values["art34_reasoning"].strip(), text_language=text_language,
        translations={k: v for k, v in translations.items() if v},
    )


def _form_page(request: Request, principal: Principal, values: dict[str, Any], *, breach: Breach | None = None,
               error: str | None = None, status_code: int = 200) -> Response:
    manifest = get_manifest(request)
    return _page(request, principal, "admin/breaches/form.html", status_code=status_code, values=values,
                 breach=breach, error=error, natures=NATURES, risk_levels=RISK_LEVELS, exceptions=ART34_EXCEPTIONS,
                 systems=manifest.systems, categories=manifest.data_categories, subjects=manifest.data_subjects,
                 annotated=annotated_collections(manifest, _manifest_dir(request)),
                 manifest_languages=manifest.languages,
                 translatable=TRANSLATABLE, is_special=manifest.is_special, language_names=LANGUAGE_NAMES)


@router.get("/new")
def new_breach_form(request: Request, principal: Principal = Depends(writer)) -> Response:
    """The form to record a breach; the time of awareness defaults to now."""
    return _form_page(request, principal,
                      _form_values(None, _now(request), get_manifest(request).default_language))


def _with_counts(request: Request, facts: BreachFacts) -> BreachFacts:
    with _databases(request) as databases:
        return complete_counts(facts, databases.count_rows)


@router.post("/new")
async def create_breach(request: Request, principal: Principal = Depends(writer)) -> Response:
    """Record the breach (counting rows of the named collections when no number is given)."""
    values = _submitted_values(await request.form())
    manifest = get_manifest(request)

    def record() -> Breach:
        facts = _with_counts(request, _facts_from(values, manifest, _manifest_dir(request)))
        with transaction(get_workspace(request).sessions) as session:
            return record_breach(session, manifest, facts, actor=_actor(principal), clock=lambda: _now(request))

    try:
        breach = await run_in_threadpool(record)
    except (InvalidBreach, CountingError) as exc:
        return _form_page(request, principal, values, error=str(exc), status_code=400)
    _, lang_param = admin_language(request)
    return RedirectResponse(with_query(f"/admin/breaches/{breach.id}", lang=lang_param), status_code=303)


@router.get("/{breach_id}/edit")
def edit_breach_form(request: Request, breach_id: int, principal: Principal = Depends(writer)) -> Response:
    """The form prefilled with the current version; saving records a new version."""
    breach = _breach_or_404(request, breach_id)
    return _form_page(request, principal,
                      _form_values(breach.facts, _now(request), get_manifest(request).default_language), breach=breach)


@router.post("/{breach_id}/edit")
async def update_breach_page(request: Request, breach_id: int, principal: Principal = Depends(writer)) -> Response:
    """Record a new version of the breach's facts."""
    breach = _breach_or_404(request, breach_id)
    values = _submitted_values(await request.form())
    manifest = get_manifest(request)

    def update() -> Breach:
        facts = _with_counts(request, _facts_from(values, manifest, _manifest_dir(request)))
        with transaction(get_workspace(request).sessions) as session:
            return update_breach(session, manifest, breach_id, facts, actor=_actor(principal),
                                 change_note=values["change_note"].strip() or None, clock=lambda: _now(request))

    try:
        await run_in_threadpool(update)
    except (InvalidBreach, CountingError, NothingChanged) as exc:
        return _form_page(request, principal, values, breach=breach, error=str(exc), status_code=400)
    _, lang_param = admin_language(request)
    return RedirectResponse(with_query(f"/admin/breaches/{breach_id}", lang=lang_param), status_code=303)


# --- one breach -----------------------------------------------------------------------------------------------------


def _detail(request: Request, principal: Principal, breach: Breach, *, error: str | None = None,
            notice: str | None = None, status_code: int = 200) -> Response:
    manifest = get_manifest(request)
    emails = [c for c in breach.facts.collections
              if c.holds_subjects and email_field(manifest, c, _manifest_dir(request))]
    return _page(request, principal, "admin/breaches/detail.html", status_code=status_code, breach=breach,
                 facts=breach.facts, status=breach.status(_now(request)), phase=next_phase(breach),
                 error=error, notice=notice, channels=CHANNELS, is_special=manifest.is_special,
                 now_local=form_instant(_now(request)), letter_languages=manifest.languages,
                 annotated_emails=bool(emails), sha=breach.current.content_sha256)


@router.get("/{breach_id}")
def breach_detail(request: Request, breach_id: int, sent: int | None = None,
                  principal: Principal = Depends(any_role)) -> Response:
    """A breach: its clock, facts, versions, notifications, communications and documents."""
    breach = _breach_or_404(request, breach_id)
    notice = None
    # Shown only once people were told, so a crafted link cannot make the page announce anything.
    if sent is not None and breach.communications:
        lang, _ = admin_language(request)
        notice = strings(lang)["messages_sent"].format(count=sent)
    return _detail(request, principal, breach, notice=notice)


def _back(request: Request, breach_id: int, **params: Any) -> Response:
    _, lang_param = admin_language(request)
    return RedirectResponse(with_query(f"/admin/breaches/{breach_id}", lang=lang_param, **params), status_code=303)


@router.post("/{breach_id}/notify")
async def notify(request: Request, breach_id: int, principal: Principal = Depends(writer)) -> Response:
    """Record a submission to the authority (reasons for delay required once 72 hours have passed)."""
    breach = _breach_or_404(request, breach_id)
    form = await request.form()
    manifest = get_manifest(request)

    def record() -> None:
        try:
            submitted_at = parse_instant(str(form.get("submitted_at", "")))
        except InvalidInstant as exc:
            raise InvalidBreach(str(exc)) from None
        with transaction(get_workspace(request).sessions) as session:
            record_notification(session, manifest, breach_id, phase=str(form.get("phase", "")),  # type: ignore[arg-type]
                                submitted_at=submitted_at, actor=_actor(principal),
                                delay_reasons=str(form.get("delay_reasons", "")),
                                authority_reference=str(form.get("authority_reference", "")).strip() or None,
                                clock=lambda: _now(request))

    try:
        await run_in_threadpool(record)
    except InvalidBreach as exc:
        return _detail(request, principal, breach, error=str(exc), status_code=400)
    return _back(request, breach_id)


@router.post("/{breach_id}/inform")
async def inform(request: Request, breach_id: int, principal: Principal = Depends(writer)) -> Response:
    """Send the Art. 34 letter to the people given (CSV) or found in the affected collections, via the outbox."""
    breach = _breach_or_404(request, breach_id)
    form = await request.form()
    manifest = get_manifest(request)
    workspace = get_workspace(request)

    def send() -> int:
        recipients = read_recipients_csv(str(form.get("recipients", "")), manifest) \
            if str(form.get("recipients", "")).strip() else []
        if form.get("from_collections"):
            with _databases(request) as databases:
                recipients += affected_recipients(breach, manifest, databases, _manifest_dir(request))
        sender = OutboxSender(outbox_folder(workspace.settings.home), clock=lambda: _now(request))
        with transaction(workspace.sessions) as session:
            return inform_subjects(session, manifest, breach_id, recipients, sender, actor=_actor(principal),
                                   clock=lambda: _now(request)).recipients_count

    try:
        count = await run_in_threadpool(send)
    except (InvalidBreach, CountingError, SubjectCommunicationNotRequired, LetterIncomplete) as exc:
        return _detail(request, principal, breach, error=str(exc), status_code=400)
    return _back(request, breach_id, sent=count)


@router.post("/{breach_id}/communication")
async def communication(request: Request, breach_id: int, principal: Principal = Depends(writer)) -> Response:
    """Record a communication made outside Charte: postal letters, or a public notice (Art. 34(3)(c))."""
    breach = _breach_or_404(request, breach_id)
    form = await request.form()

    def record() -> None:
        try:
            informed_at = parse_instant(str(form.get("informed_at", "")))
        except InvalidInstant as exc:
            raise InvalidBreach(str(exc)) from None
        count = _count(str(form.get("recipients_count", "")), "the number of people told") or 0
        with transaction(get_workspace(request).sessions) as session:
            record_communication(session, breach_id, channel=str(form.get("channel", "")), informed_at=informed_at,
                                 recipients_count=count, languages={}, actor=_actor(principal),
                                 note=str(form.get("note", "")).strip() or None, clock=lambda: _now(request))

    try:
        await run_in_threadpool(record)
    except InvalidBreach as exc:
        return _detail(request, principal, breach, error=str(exc), status_code=400)
    return _back(request, breach_id)


# --- documents ---------------------------------------------------------------------------------------------------


def _document(html: str) -> Response:
    # The documents carry their own stylesheet inline: admit exactly that text by its hash.
    csp = csp_allowing_styles_of(html) + ADMIN_CSP.removeprefix(PUBLIC_CSP)
    return Response(html, media_type="text/html; charset=utf-8", headers={"Content-Security-Policy": csp})


@router.get("/{breach_id}/cnil.html")
def cnil_draft(request: Request, breach_id: int, principal: Principal = Depends(any_role)) -> Response:
    """The draft of the next notification to the CNIL (French), as of now."""
    breach = _breach_or_404(request, breach_id)
    return _document(render_cnil_draft(breach, get_manifest(request), at=_now(request)))


@router.get("/{breach_id}/letter-{letter_lang}.html")
def subject_letter(request: Request, breach_id: int, letter_lang: str,
                   principal: Principal = Depends(any_role)) -> Response:
    """The letter to the people concerned; 409 when Art. 34 does not call for one or it lacks an item."""
    breach = _breach_or_404(request, breach_id)
    manifest = get_manifest(request)
    if letter_lang not in manifest.languages:
        raise HTTPException(404, f"no letter in {letter_lang!r}")
    try:
        return _document(render_subject_letter(breach, manifest, letter_lang))
    except (SubjectCommunicationNotRequired, LetterIncomplete) as exc:
        raise HTTPException(409, str(exc)) from None
