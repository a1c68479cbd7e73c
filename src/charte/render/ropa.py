"""The Art. 30 record of processing activities (RoPA): one row per purpose, as CSV, XLSX or HTML."""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from charte.manifest.models import Manifest, Purpose, tr
from charte.render import facts
from charte.render.environment import environment
from charte.render.formatting import (
    art9_label,
    automation_label,
    countries_label,
    country_name,
    format_date,
    gdpr_article,
    join_words,
    language,
    legal_basis_label,
    retention_text,
)
from charte.render.locales import LEGAL_BASES, Lang, text
from charte.spreadsheets import table_csv, table_xlsx

#: Column keys of a RoPA row, in export order; the letters in the headers are those of Art. 30(1).
COLUMNS: Final[tuple[str, ...]] = (
    "reference", "purpose", "description", "controller", "dpo", "legal_basis", "legal_reference",
    "data_subjects", "data_categories", "special_categories", "sources", "recipients", "transfers", "retention",
    "security", "automated", "systems",
)

_SEP = "; "
_DASH = " — "


def ropa_columns(lang: str) -> list[tuple[str, str]]:
    """The RoPA columns as (key, localised header)."""
    lg = language(lang)
    return [(key, text(f"ropa.col.{key}", lg)) for key in COLUMNS]


def _controller(m: Manifest) -> str:
    c = m.controller
    return _DASH.join(
        v for v in (c.legal_name or c.name, c.registration, c.address, c.contact.email, c.contact.phone,
                     c.contact.url) if v
    )


def _dpo(m: Manifest, lang: Lang) -> str:
    d = m.dpo
    parts = [d.name, d.email, d.address, d.cnil_designation]
    if d.organisation_choice:
        parts.append(text("ropa.dpo_choice", lang))
    return _DASH.join(p for p in parts if p)


def _legal_basis(p: Purpose, lang: Lang) -> str:
    if p.legal_basis is None:
        return ""
    label = legal_basis_label(p.legal_basis, lang)
    if p.legitimate_interest:
        label += _DASH + text("purpose.interest", lang, interest=tr(p.legitimate_interest, lang))
    return label


def _legal_reference(p: Purpose, lang: Lang) -> str:
    # Without a specific text, the processing's legal reference is the GDPR point of its basis.
    if p.legal_reference:
        return p.legal_reference
    if p.legal_basis is None:
        return ""
    return gdpr_article(f"6(1)({LEGAL_BASES[p.legal_basis][0]})", lang)


def _special(m: Manifest, p: Purpose, lang: Lang) -> str:
    special = facts.special_categories(m, p)
    if not special:
        return text("none", lang)
    names = join_words((facts.category_name(m, k, lang) for k in special), lang)
    return names + (_DASH + art9_label(p.art9_condition, lang) if p.art9_condition else "")


def _recipients(m: Manifest, p: Purpose, lang: Lang) -> str:
    entries = [
        f"{tr(r.name, lang)} ({text(f'kind.one.{r.kind}', lang)}, {country_name(r.country, lang)})"
        for r in facts.purpose_recipients(m, p)
    ]
    entries += [
        f"{s.name}{_DASH}{s.provider} ({text('recipients.via_cookies', lang)}, {country_name(s.country, lang)})"
        for s in facts.third_party_services(m, p)
    ]
    return _SEP.join(entries) or text("recipients.internal", lang)


def _transfers(m: Manifest, p: Purpose, lang: Lang) -> str:
    found = facts.transfers(m, lang, p)
    if not found:
        return text("ropa.no_transfer", lang, countries=countries_label(m.transfers.allowed_countries, lang))
    return _SEP.join(
        _DASH.join((t.name, country_name(t.country, lang), t.safeguards or text("transfers.unspecified", lang)))
        for t in found
    )


def _automated(p: Purpose, lang: Lang) -> str:
    label = automation_label(p, lang)
    if not label:
        return text("no", lang)
    return f"{label.capitalize()}{text('colon', lang)}{tr(p.automated_logic, lang)}"


def _row(m: Manifest, p: Purpose, lang: Lang) -> dict[str, str]:
    systems = [s.name for s in m.systems.values() if p.key in s.purposes]
    return {
        "reference": p.key,
        "purpose": tr(p.name, lang),
        "description": tr(p.description, lang),
        "controller": _controller(m),
        "dpo": _dpo(m, lang),
        "legal_basis": _legal_basis(p, lang),
        "legal_reference": _legal_reference(p, lang),
        "data_subjects": _SEP.join(tr(m.data_subjects[k].name, lang) if k in m.data_subjects else k
                                   for k in p.data_subjects),
        "data_categories": _SEP.join(facts.category_name(m, k, lang) for k in p.data_categories),
        "special_categories": _special(m, p, lang),
        "sources": _SEP.join(tr(m.data_sources[k].name, lang) if k in m.data_sources else k for k in p.sources),
        "recipients": _recipients(m, p, lang),
        "transfers": _transfers(m, p, lang),
        "retention": retention_text(p.retention, lang) if p.retention else "",
        "security": _SEP.join(tr(s.name, lang) for s in m.security_measures.values()),
        "automated": _automated(p, lang),
        "systems": _SEP.join(systems) or text("ropa.no_system", lang),
    }


def ropa_rows(manifest: Manifest, lang: str) -> list[dict[str, str]]:
    """One row per purpose, keyed by :data:`COLUMNS`, covering Art. 30(1)(a)–(g)."""
    lg = language(lang)
    return [_row(manifest, p, lg) for p in manifest.purposes.values()]


def _html(manifest: Manifest, lang: Lang) -> bytes:
    template = environment("html").get_template("ropa.html.j2")
    return template.render(
        lang=lang,
        title=text("ropa.title", lang),
        caption=text("ropa.caption", lang, controller=manifest.controller.name,
                     date=format_date(date.today(), lang)),
        columns=ropa_columns(lang),
        rows=ropa_rows(manifest, lang),
    ).encode("utf-8")


def export_ropa(manifest: Manifest, fmt: Literal["csv", "xlsx", "html"], lang: str) -> bytes:
    """The record of processing as a CSV (UTF-8 with BOM), XLSX workbook or HTML document."""
    lg = language(lang)
    if fmt == "csv":
        return table_csv(ropa_columns(lg), ropa_rows(manifest, lg))
    if fmt == "xlsx":
        return table_xlsx(ropa_columns(lg), ropa_rows(manifest, lg), title=text("ropa.title", lg),
                          author=manifest.controller.name, sheet=text("ropa.sheet", lg), min_width=12)
    if fmt == "html":
        return _html(manifest, lg)
    raise ValueError(f"unknown RoPA format {fmt!r}; one of: csv, xlsx, html")
