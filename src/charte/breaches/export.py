"""The breach register as a spreadsheet (CSV or XLSX): one row per breach, what Art. 33(5) asks to document."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal

from charte.breaches import texts
from charte.breaches.register import Breach
from charte.manifest.models import Manifest, tr
from charte.render.facts import category_name
from charte.render.formatting import language
from charte.render.locales import Lang
from charte.spreadsheets import table_csv, table_xlsx

RegisterFormat = Literal["csv", "xlsx"]

#: Column keys with their headers, in export order.
COLUMNS: Final[dict[str, dict[Lang, str]]] = {
    "reference": {"fr": "N°", "en": "No."},
    "title": {"fr": "Intitulé", "en": "Title"},
    "status": {"fr": "État", "en": "Status"},
    "occurred_at": {"fr": "Début de la violation", "en": "Breach began"},
    "aware_at": {"fr": "Prise de connaissance", "en": "Became aware"},
    "deadline": {"fr": "Échéance 72 h", "en": "72-hour deadline"},
    "nature": {"fr": "Nature", "en": "Nature"},
    "description": {"fr": "Circonstances", "en": "Circumstances"},
    "systems": {"fr": "Systèmes ou supports", "en": "Systems or media"},
    "data_categories": {"fr": "Catégories de données", "en": "Data categories"},
    "special_categories": {"fr": "Données sensibles (art. 9)", "en": "Special categories (Art. 9)"},
    "data_subjects": {"fr": "Catégories de personnes", "en": "Categories of data subjects"},
    "subjects_count": {"fr": "Nombre approximatif de personnes", "en": "Approximate number of people"},
    "records_count": {"fr": "Nombre approximatif d'enregistrements", "en": "Approximate number of records"},
    "counts_method": {"fr": "Méthode de comptage", "en": "Counting method"},
    "consequences": {"fr": "Conséquences probables", "en": "Likely consequences"},
    "measures_taken": {"fr": "Mesures prises", "en": "Measures taken"},
    "measures_planned": {"fr": "Mesures envisagées", "en": "Measures planned"},
    "risk": {"fr": "Niveau de risque", "en": "Risk level"},
    "risk_reasoning": {"fr": "Justification du risque", "en": "Risk reasoning"},
    "art34_decision": {"fr": "Décision art. 34", "en": "Art. 34 decision"},
    "art34_reasoning": {"fr": "Justification de l'exception", "en": "Exception justification"},
    "initial_notification": {"fr": "Notification initiale", "en": "Initial notification"},
    "late": {"fr": "Hors délai", "en": "Late"},
    "delay_reasons": {"fr": "Motifs du retard", "en": "Reasons for delay"},
    "complementary": {"fr": "Notifications complémentaires", "en": "Complementary notifications"},
    "authority_reference": {"fr": "Références de l'autorité", "en": "Authority references"},
    "communications": {"fr": "Information des personnes", "en": "People informed"},
    "version": {"fr": "Version", "en": "Version"},
    "recorded_at": {"fr": "Inscrite au registre", "en": "Recorded"},
}

_SEP = "; "
_TITLE = {"fr": "Registre des violations de données", "en": "Personal data breach register"}
_SHEET = {"fr": "Violations", "en": "Breaches"}


def register_columns(lang: str) -> list[tuple[str, str]]:
    """The export's columns as (key, localised header)."""
    lg = language(lang)
    return [(key, headers[lg]) for key, headers in COLUMNS.items()]


def _row(b: Breach, manifest: Manifest, lang: Lang, now: datetime) -> dict[str, str]:
    f = b.facts
    when = texts.format_instant
    initial = b.initial_notification
    complementary = [n for n in b.notifications if n.phase == "complementary"]
    subjects = [tr(manifest.data_subjects[k].name, lang) if k in manifest.data_subjects else k
                for k in f.data_subjects]
    systems = [manifest.systems[k].name if k in manifest.systems else k for k in f.systems]
    return {
        "reference": b.reference,
        "title": f.title,
        "status": texts.label(f"status.{b.status(now)}", lang),
        "occurred_at": when(f.occurred_at, lang),
        "aware_at": when(f.aware_at, lang),
        "deadline": when(b.deadline, lang) if f.notification_required else "",
        "nature": _SEP.join(texts.label(f"nature.{n}", lang) for n in f.nature),
        "description": f.description,
        "systems": _SEP.join([*systems, *([f.other_systems] if f.other_systems else [])]),
        "data_categories": _SEP.join(category_name(manifest, k, lang) for k in f.data_categories),
        "special_categories": _SEP.join(category_name(manifest, k, lang) for k in f.data_categories
                                        if manifest.is_special(k)),
        "subjects_count": "" if f.subjects_count is None else str(f.subjects_count),
        "records_count": "" if f.records_count is None else str(f.records_count),
        "counts_method": texts.label(f"counts.{f.counts_method}", lang),
        "data_subjects": _SEP.join(subjects),
        "consequences": f.consequences,
        "measures_taken": f.measures_taken,
        "measures_planned": f.measures_planned,
        "risk": texts.label(f"risk.{f.risk}", lang),
        "risk_reasoning": f.risk_reasoning,
        "art34_decision": texts.art34_decision(f.risk, f.art34_exception, lang),
        "art34_reasoning": f.art34_reasoning,
        "initial_notification": when(initial.submitted_at, lang) if initial else "",
        "late": (texts.label("yes", lang) if initial.late else texts.label("no", lang)) if initial else "",
        "delay_reasons": (initial.delay_reasons or "") if initial else "",
        "complementary": _SEP.join(when(n.submitted_at, lang) for n in complementary),
        "authority_reference": _SEP.join(n.authority_reference for n in b.notifications if n.authority_reference),
        "communications": _SEP.join(
            f"{texts.label(f'channel.{c.channel}', lang)} — {when(c.informed_at, lang)}"
            + (f" — {c.recipients_count}" if c.recipients_count else "") for c in b.communications),
        "version": str(b.current.version),
        "recorded_at": when(b.recorded_at, lang),
    }


def register_rows(breaches: Sequence[Breach], manifest: Manifest, lang: str, now: datetime) -> list[dict[str, str]]:
    """One row per breach, keyed by :data:`COLUMNS`, oldest first."""
    lg = language(lang)
    return [_row(b, manifest, lg, now) for b in sorted(breaches, key=lambda b: b.id)]


def export_register(breaches: Sequence[Breach], manifest: Manifest, fmt: RegisterFormat, lang: str,
                    now: datetime) -> bytes:
    """The register as CSV (UTF-8 with BOM) or an XLSX workbook."""
    lg = language(lang)
    columns = register_columns(lg)
    rows = register_rows(breaches, manifest, lg, now)
    if fmt == "csv":
        return table_csv(columns, rows)
    if fmt == "xlsx":
        return table_xlsx(columns, rows, title=_TITLE[lg], author=manifest.controller.name, sheet=_SHEET[lg],
                          frozen_columns=1)
    raise ValueError(f"unknown register format {fmt!r}; one of: csv, xlsx")
