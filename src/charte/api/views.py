"""Rendering dashboard and privacy-center pages with the context every template expects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from starlette.responses import Response

from charte.api.deps import Principal, get_manifest
from charte.web import navigation
from charte.web.i18n import LANGUAGE_NAMES, UI_LANGUAGES, strings
from charte.web.templating import templates


def _navigation(request: Request, principal: Principal | None) -> list[tuple[navigation.NavEntry, bool]]:
    # Only pages this app serves and this role may open; each entry says whether it is the current page.
    if principal is None:
        return []
    return [(entry, navigation.is_current(entry, request.url.path))
            for entry in navigation.visible_entries(request.app.routes, principal.role)]


def render(request: Request, template: str, *, lang: str, lang_param: str | None = None,
           principal: Principal | None = None, status_code: int = 200, headers: dict[str, str] | None = None,
           languages: Sequence[str] = UI_LANGUAGES, **context: Any) -> Response:
    """A page in ``lang`` with the UI strings, language links and (when signed in) the CSRF token."""
    manifest = get_manifest(request)
    base: dict[str, Any] = {
        "lang": lang,
        "lang_param": lang_param,
        "t": strings(lang),
        "strings_for": strings,
        "principal": principal,
        "csrf_token": principal.csrf if principal else "",
        "controller_name": manifest.controller.name,
        "language_links": [(code, LANGUAGE_NAMES.get(code, code)) for code in languages],
        "nav": _navigation(request, principal),
    }
    response = templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code,
                                          headers=headers)
    response.headers["Content-Language"] = lang
    return response
