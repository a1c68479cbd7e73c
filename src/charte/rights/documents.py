"""The access report as a standalone HTML document (the JSON form is the report itself)."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from charte.render.formatting import language
from charte.rights.report import report_lines
from charte.rights.wording import words

_TITLES = {"fr": "Rapport d’accès à vos données", "en": "Access report on your data"}
_LABELS = {
    "fr": {"reference": "Référence", "generated": "Établi le", "controller": "Responsable du traitement",
           "dpo": "Délégué à la protection des données", "system": "Système", "collection": "Collection",
           "field": "Champ", "category": "Catégorie", "value": "Valeur"},
    "en": {"reference": "Reference", "generated": "Generated on", "controller": "Controller",
           "dpo": "Data Protection Officer", "system": "System", "collection": "Collection", "field": "Field",
           "category": "Category", "value": "Value"},
}


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("charte.rights", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def report_html(report: dict[str, Any], lang: str) -> str:
    """The Art. 15 report as one HTML file with its own styles: items (a)–(h), transfers, then the data."""
    lg = language(lang)
    data = report["data"]
    if data["no_connected_systems"]:
        data_text = words("data.none_connected", lg, controller=report["controller"]["name"])
    elif not data["records"]:
        data_text = words("data.not_found", lg, systems=", ".join(data["systems"]))
    else:
        data_text = words("data.found", lg, records=len(data["records"]), systems=", ".join(data["systems"]))
    return _environment().get_template("access_report.html.j2").render(
        lang=lg, title=_TITLES[lg], labels=_LABELS[lg], report=report, sections=report_lines(report, lg),
        data_heading=words("art15.data", lg), data_text=data_text, intro=words("access.intro", lg))
