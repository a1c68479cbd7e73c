"""The preferences page and the unsubscribe link: no login, a signed link stands for the verified email."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from charte.api.consent_support import app_clock, link_signer, request_meta
from charte.api.deps import get_manifest, get_workspace
from charte.api.public import visitor_language
from charte.api.views import render
from charte.consent import Collection, CollectionMethod, ConsentError, SubjectKey, unsubscribe
from charte.consent.links import ExpiredLink, InvalidLink
from charte.consent.permissions import PermissionReason
from charte.consent.preferences import (
    PreferenceAction,
    PurposeStanding,
    apply_preference,
    preferences_notice,
    purpose_standings,
)
from charte.manifest import Manifest, tr
from charte.rights.restriction import RESTRICTIONS
from charte.store import transaction
from charte.web.i18n import strings
from charte.web.i18n_consent import consent_strings
from charte.web.templating import with_query

router = APIRouter(include_in_schema=False)

#: Labels whose text is part of what a person decides on (recorded in the page's notice).
_LABELS = ("action_withdraw", "action_give", "action_object", "action_lift", "consent_purposes",
           "objection_purposes")
_DONE = {"withdrawn": "done_withdrawn", "refused": "done_withdrawn", "given": "done_given",
         "objected": "done_objected", "lifted": "done_lifted", "nothing": "done_nothing"}
# Pages behind a personal link must stay out of caches and must not leak the link to other sites.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
#: Holds a preferences link's token for the page's path only (HttpOnly, SameSite=Lax: no cross-site POST).
PREFERENCES_COOKIE = "charte_preferences"


def _texts(lang: str) -> dict[str, str]:
    return consent_strings(strings(lang), lang)


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""


def _status(standing: PurposeStanding, t: dict[str, str]) -> str:
    answer = standing.permission
    reason = answer.reason
    if reason is PermissionReason.restriction_in_force:
        return t["state_restricted"]
    if reason is PermissionReason.objection_recorded:
        return t["state_objected"].format(date=_day(answer.decided_at))
    if not standing.by_consent:
        return t["state_not_objected"]
    texts = {PermissionReason.consent_given: "state_given", PermissionReason.consent_expired: "state_expired",
             PermissionReason.consent_refused: "state_refused", PermissionReason.consent_withdrawn: "state_withdrawn"}
    key = texts.get(reason, "state_missing")
    date = answer.expires_at if reason is PermissionReason.consent_expired else answer.decided_at
    return t[key].format(date=_day(date))


def _actions(standing: PurposeStanding) -> list[PreferenceAction]:
    objected = standing.permission.reason is PermissionReason.objection_recorded
    if standing.by_consent:
        return [PreferenceAction.withdraw if standing.permission.allowed else PreferenceAction.give]
    return [PreferenceAction.lift if objected else PreferenceAction.object]


def _subject_of(request: Request, token: str | None) -> tuple[SubjectKey | None, str | None]:
    if not token:
        return None, None
    try:
        return link_signer(request).preferences_subject(token), None
    except ExpiredLink:
        return None, "link_expired"
    except InvalidLink:
        return None, "link_invalid"


def _purposes(manifest: Manifest, standings: list[PurposeStanding], lang: str,
              t: dict[str, str]) -> list[dict[str, Any]]:
    return [{"key": s.key, "by_consent": s.by_consent, "name": tr(manifest.purposes[s.key].name, lang),
             "description": tr(manifest.purposes[s.key].description, lang), "status": _status(s, t),
             "actions": [(a.value, t[f"action_{a.value}"]) for a in _actions(s)]} for s in standings]


@router.get("/preferences")
def preferences_page(request: Request, lang: str | None = Query(None), token: str | None = Query(None),
                     done: str | None = Query(None)) -> Response:
    """Cookie choices of this browser (the banner's panel) and, once identified by a link, choices per purpose.

    A link's token moves at once into a cookie for this page, so it leaves the address bar, history and logs.
    """
    manifest = get_manifest(request)
    chosen = visitor_language(request, manifest, lang)
    t = _texts(chosen)
    if token:
        subject, problem = _subject_of(request, token)
        if subject is not None:
            response = RedirectResponse(with_query("/preferences", lang=lang, done=done), status_code=303,
                                        headers=_PRIVATE)
            response.set_cookie(PREFERENCES_COOKIE, token, max_age=link_signer(request).max_age,
                                path="/preferences", httponly=True, samesite="lax",
                                secure=get_workspace(request).settings.secure_cookies)
            return response
    else:
        token = request.cookies.get(PREFERENCES_COOKIE)
        subject, problem = _subject_of(request, token)
    purposes: list[dict[str, Any]] = []
    if subject is not None:
        with get_workspace(request).sessions() as session:
            standings = purpose_standings(session, manifest, subject, clock=app_clock(request),
                                          restrictions=RESTRICTIONS)
        purposes = _purposes(manifest, standings, chosen, t)
    headers = {"Vary": "Accept-Language, Cookie", **(_PRIVATE if token else {})}
    return render(request, "preferences.html", lang=chosen, languages=manifest.languages, t=t, headers=headers,
                  status_code=400 if problem else 200, subject=subject, problem=problem,
                  token=token if subject is not None else "", purposes=purposes,
                  done=t.get(_DONE.get(done or "", ""), ""), dpo_email=manifest.dpo.email)


@router.post("/preferences")
def change_preference(request: Request, token: str = Form(...), purpose: str = Form(...),
                      action: str = Form(...), lang: str = Form("")) -> Response:
    """One click: withdraw, give, object or lift an objection; then back to the page (no resubmission)."""
    manifest = get_manifest(request)
    chosen = visitor_language(request, manifest, lang or None)
    subject, problem = _subject_of(request, token)
    if subject is None or action not in PreferenceAction.__members__:
        t = _texts(chosen)
        return render(request, "preferences.html", lang=chosen, languages=manifest.languages, t=t,
                      headers=_PRIVATE, status_code=400, subject=None, problem=problem or "link_invalid", token="",
                      purposes=[], done="", dpo_email=manifest.dpo.email)
    labels = {key: _texts(chosen)[key] for key in _LABELS}
    notice = preferences_notice(manifest, chosen, labels)
    collection = Collection(CollectionMethod.preferences, "subject", notice=notice, lang=chosen,
                            request=request_meta(request))
    chosen_action = PreferenceAction(action)
    try:
        with transaction(get_workspace(request).sessions) as session:
            decision = apply_preference(session, manifest, subject, purpose, chosen_action, collection,
                                        clock=app_clock(request))
    except ConsentError:
        return RedirectResponse(with_query("/preferences", lang=lang or None), status_code=303, headers=_PRIVATE)
    outcome = "nothing" if decision is None else "lifted" if chosen_action is PreferenceAction.lift else decision.value
    target = with_query("/preferences", lang=lang or None, done=outcome) + f"#purpose-{purpose}"
    return RedirectResponse(target, status_code=303, headers=_PRIVATE)


def _unsubscribe_target(request: Request, token: str | None) -> tuple[SubjectKey, str] | None:
    if not token:
        return None
    try:
        subject, purpose = link_signer(request).unsubscribe_target(token)
    except InvalidLink:
        return None
    return (subject, purpose) if purpose in get_manifest(request).purposes else None


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, token: str | None = Query(None), lang: str | None = Query(None)) -> Response:
    """Ask for confirmation: mail scanners open links, so a GET changes nothing."""
    manifest = get_manifest(request)
    chosen = visitor_language(request, manifest, lang)
    target = _unsubscribe_target(request, token)
    return render(request, "unsubscribe.html", lang=chosen, languages=manifest.languages, t=_texts(chosen),
                  headers=_PRIVATE, status_code=200 if target else 400, token=token or "", done=False,
                  subject=target[0].value if target else "",
                  purpose_name=tr(manifest.purposes[target[1]].name, chosen) if target else "")


@router.post("/unsubscribe")
def unsubscribe_now(request: Request, token: str | None = Query(None), lang: str | None = Query(None)) -> Response:
    """Record the withdrawal (or objection); also the one-click POST of RFC 8058 (List-Unsubscribe-Post)."""
    manifest = get_manifest(request)
    chosen = visitor_language(request, manifest, lang)
    target = _unsubscribe_target(request, token)
    if target is None:
        return render(request, "unsubscribe.html", lang=chosen, languages=manifest.languages, t=_texts(chosen),
                      headers=_PRIVATE, status_code=400, token="", done=False, subject="", purpose_name="")
    subject, purpose = target
    collection = Collection(CollectionMethod.email_link, "subject", lang=chosen, request=request_meta(request))
    with transaction(get_workspace(request).sessions) as session:
        unsubscribe(session, manifest, subject, purpose, collection, clock=app_clock(request))
    return render(request, "unsubscribe.html", lang=chosen, languages=manifest.languages, t=_texts(chosen),
                  headers=_PRIVATE, token=token or "", done=True, subject=subject.value,
                  purpose_name=tr(manifest.purposes[purpose].name, chosen))
