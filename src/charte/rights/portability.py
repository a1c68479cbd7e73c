"""Portability (Art. 20): the data the subject provided, processed under consent or contract, as JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from charte.manifest import Manifest, Purpose
from charte.rights.execution import ExecutionOutcome, FoundRecord
from charte.spreadsheets import formula_safe

#: The legal bases Art. 20(1)(a) covers.
PORTABLE_BASES = frozenset({"consent", "contract"})
CSV_COLUMNS = ("system", "collection", "record", "field", "category", "value")


def portable_purposes(manifest: Manifest) -> list[Purpose]:
    """Purposes under consent or contract that use data the subject provided."""
    provided = {key for key, source in manifest.data_sources.items() if source.kind == "provided"}
    return [p for p in manifest.purposes.values()
            if p.legal_basis in PORTABLE_BASES and provided & set(p.sources)]


def portable_categories(manifest: Manifest) -> set[str]:
    """The data categories those purposes use."""
    return {c for p in portable_purposes(manifest) for c in p.data_categories}


def portable_records(manifest: Manifest, outcome: ExecutionOutcome | None) -> list[FoundRecord]:
    """The records found, keeping only fields of a portable category (a field without category is left out)."""
    allowed = portable_categories(manifest)
    kept = []
    for record in outcome.records if outcome else ():
        values = tuple(v for v in record.values if v.category in allowed)
        if values:
            kept.append(FoundRecord(record.system, record.collection, values))
    return kept


def records_to_json(records: list[FoundRecord]) -> list[dict[str, Any]]:
    """Records as JSON-ready dicts (how the answer stores them)."""
    return [{"system": r.system, "collection": r.collection,
             "values": [{"field": v.field, "category": v.category, "value": v.value} for v in r.values]}
            for r in records]


def portability_json(stored: list[dict[str, Any]], *, controller: str, reference: str,
                     generated_at: datetime) -> str:
    """The export as one JSON document: a field-to-value object per record."""
    document = {
        "format": "charte.portability/1",
        "controller": controller,
        "reference": reference,
        "generated_at": generated_at.isoformat(),
        "records": [{"system": r["system"], "collection": r["collection"],
                     "data": {v["field"]: v["value"] for v in r["values"]}} for r in stored],
    }
    return json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return formula_safe(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))


def portability_csv(stored: list[dict[str, Any]]) -> str:
    """The export as CSV: one line per field, with the record's position in its collection."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for number, record in enumerate(stored, start=1):
        for value in record["values"]:
            writer.writerow([_cell(record["system"]), _cell(record["collection"]), number, _cell(value["field"]),
                             _cell(value["category"] or ""), _cell(value["value"])])
    return out.getvalue()
