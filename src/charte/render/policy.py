"""The full confidentiality policy, derived from the manifest, as HTML or Markdown in French or English."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Final, Literal

from markupsafe import Markup

from charte.manifest.models import RIGHTS, LegalBasis, Manifest, Purpose, Right, tr
from charte.render import facts
from charte.render.environment import Format, environment, link, translator
from charte.render.formatting import (
    art9_label,
    automation_label,
    countries_label,
    country_name,
    format_date,
    format_duration,
    gdpr_article,
    join_words,
    language,
    legal_basis_label,
    retention_period,
)
from charte.render.locales import PREFERENCES_PAGE, REQUEST_FORM, Lang, text

#: Section ids of the rendered policy, in reading order; the web app and tests link to them.
SECTIONS: Final[tuple[str, ...]] = (
    "introduction", "definitions", "principles", "rights", "data-collected", "purposes", "further-processing",
    "recipients", "security", "cookies", "dpo", "cnil", "changes",
)

# The order in which the reference policy presents the legal bases.
BASIS_ORDER: Final[tuple[LegalBasis, ...]] = (
    "contract", "legitimate_interest", "consent", "legal_obligation", "vital_interests", "public_task",
)


def _rights(manifest: Manifest) -> list[Right]:
    # The eleven rights in the policy's order first, then any other the manifest declares.
    ordered = [manifest.rights[k] for k in RIGHTS if k in manifest.rights]
    return ordered + [r for k, r in manifest.rights.items() if k not in RIGHTS]


def _purpose_notes(purpose: Purpose, t: Callable[..., Markup], lang: Lang) -> list[Markup]:
    # The per-purpose facts Art. 13 asks for beyond name and description.
    notes = []
    if purpose.legitimate_interest:
        notes.append(t("purpose.interest", interest=tr(purpose.legitimate_interest, lang)))
    if purpose.legal_reference:
        notes.append(t("purpose.reference", reference=purpose.legal_reference))
    if purpose.consent_lifetime:
        notes.append(t("purpose.consent_lifetime", duration=format_duration(purpose.consent_lifetime, lang)))
    # Objection under legitimate interest is stated once for the whole group.
    if purpose.objection and purpose.legal_basis != "legitimate_interest":
        notes.append(t("purpose.objection"))
    return notes


def policy_context(manifest: Manifest, lang: Lang, fmt: Format) -> dict[str, Any]:
    """Everything the policy templates show, with formatting helpers bound to ``lang`` and ``fmt``."""
    m = manifest
    purposes = list(m.purposes.values())
    t = translator(fmt, lang)
    return {
        "m": m,
        "lang": lang,
        "title": tr(m.policy.title, lang),
        "sections": [(sid, text(f"section.{sid}", lang)) for sid in SECTIONS],
        "request_form": REQUEST_FORM,
        "preferences_page": PREFERENCES_PAGE,
        "rights": _rights(m),
        "source_groups": facts.sources_by_kind(m),
        "basis_groups": [(b, m.purposes_by_basis(b)) for b in BASIS_ORDER if m.purposes_by_basis(b)],
        "purposes": purposes,
        "special_purposes": [p for p in purposes if facts.special_categories(m, p)],
        "automated_purposes": [p for p in purposes if automation_label(p, lang)],
        "legal_retention": [p for p in m.purposes_by_basis("legal_obligation") if p.retention],
        "compatible_purposes": [p for p in purposes if p.compatible_with],
        "any_choice": any(p.retention and p.retention.organisation_choice for p in purposes),
        "recipient_groups": facts.recipients_by_kind(m),
        "transfers": facts.transfers(m, lang),
        "allowed_countries": countries_label(m.transfers.allowed_countries, lang),
        "versions": sorted(m.policy.versions, key=lambda v: v.date, reverse=True),
        "last_modified": m.policy.last_modified,
        # Helpers, so templates stay free of formatting rules.
        "t": t,
        "plain": partial(text, lang=lang),
        "notes_of": partial(_purpose_notes, t=t, lang=lang),
        "link": partial(link, fmt),
        "tr": partial(tr, lang=lang),
        "date": partial(format_date, lang=lang),
        "duration": partial(format_duration, lang=lang),
        "basis": partial(legal_basis_label, lang=lang),
        "article": partial(gdpr_article, lang=lang),
        "art9": partial(art9_label, lang=lang),
        "country": partial(country_name, lang=lang),
        "join": partial(join_words, lang=lang),
        "retention_period": partial(retention_period, lang=lang),
        "category": partial(facts.category_name, m, lang=lang),
        "recipients_of": partial(facts.purpose_recipients, m),
        "services_of": partial(facts.third_party_services, m),
        "automation_of": partial(automation_label, lang=lang),
        "specials_of": partial(facts.special_categories, m),
        "categories": lambda keys: [facts.category_name(m, k, lang) for k in keys],
        "purpose_names": lambda keys: [tr(m.purposes[k].name, lang) if k in m.purposes else k for k in keys],
    }


def render_policy(
    manifest: Manifest, lang: str, fmt: Literal["html", "md"], *, standalone: bool = True
) -> str:
    """The full confidentiality policy; with ``standalone=False`` the HTML is only its ``<main>`` fragment."""
    lg = language(lang)
    if lg not in manifest.languages:
        raise ValueError(f"the manifest does not offer language {lang!r} (languages: {manifest.languages})")
    if fmt not in ("html", "md"):
        raise ValueError(f"unknown policy format {fmt!r}; one of: html, md")
    template = environment(fmt).get_template(f"policy.{fmt}.j2")
    return template.render(policy_context(manifest, lg, fmt), standalone=standalone)
