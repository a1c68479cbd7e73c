"""Read Fides (fideslang) dataset YAML unchanged and turn it into Charte's annotations.

What maps: ``fides_meta.identity`` (identity kind), ``fides_meta.primary_key``, ``fides_meta.references``
(with ``direction``; none means both ways, as in Fides), field ``masking_strategy_override`` (through
:func:`charte.anonymise.from_fides_strategy`), collection ``masking_strategy_override: {strategy: delete}``,
``skip_processing`` and the dataset's ``fides_meta.namespace.schema``. Fides has no legal holds: add them in a
Charte overlay or accept that Fides datasets erase everything they describe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from charte.manifest.problems import Path

Location = tuple[str | int, ...]

#: Where a Charte field attribute is written in a Fides field.
_FIELD_ATTRIBUTES: dict[str, Path] = {
    "category": ("data_categories",),
    "categories": ("data_categories",),
    "identity": ("fides_meta", "identity"),
    "primary_key": ("fides_meta", "primary_key"),
    "references": ("fides_meta", "references"),
    "erasure": ("fides_meta", "masking_strategy_override"),
}
_COLLECTION_ATTRIBUTES: dict[str, Path] = {
    "erasure": ("fides_meta", "masking_strategy_override"),
    "skip": ("fides_meta", "skip_processing"),
}


@dataclass
class Converted:
    """A Fides dataset as Charte annotation data, with where each part is written in the Fides document."""

    data: dict[str, Any]
    paths: dict[Location, Path] = field(default_factory=dict)
    notes: list[tuple[Path, str]] = field(default_factory=list)

    def locate(self, location: Location) -> Path:
        """The document path (under the dataset node) of a Charte location such as ``(collections, c, fields, f)``."""
        for cut in range(len(location), -1, -1):
            prefix = location[:cut]
            if prefix in self.paths:
                rest = location[cut:]
                table = _FIELD_ATTRIBUTES if len(prefix) == 4 else _COLLECTION_ATTRIBUTES if len(prefix) == 2 else {}
                if rest and isinstance(rest[0], str) and rest[0] in table:
                    return (*self.paths[prefix], *table[rest[0]], *rest[1:])
                return self.paths[prefix]
        return ()


def is_fides(data: object) -> bool:
    """Whether a dataset document (or one entry of ``datasets``) is written in Fides' format."""
    if isinstance(data, dict) and "fides_key" in data:
        return True
    return isinstance(data, dict) and isinstance(data.get("collections"), list)


def _reference(ref: dict[str, Any], own_dataset: str) -> dict[str, Any]:
    target = str(ref.get("field", ""))
    dataset = ref.get("dataset")
    if dataset and dataset != own_dataset:
        target = f"{dataset}.{target}"
    # Fides: a reference without a direction is followed both ways.
    return {"field": target, "direction": ref.get("direction") or "both"}


def _masking(override: dict[str, Any]) -> dict[str, Any]:
    return {"action": "fides", "params": {"strategy": override.get("strategy"),
                                          "configuration": override.get("configuration") or {}}}


def convert(dataset: dict[str, Any]) -> Converted:
    """Charte annotation data for one Fides dataset (``fides_key``, ``collections`` list...)."""
    key = str(dataset.get("fides_key", ""))
    meta = dataset.get("fides_meta") or {}
    namespace = meta.get("namespace") or {}
    out: dict[str, Any] = {"key": key, "collections": {}}
    if dataset.get("name"):
        out["name"] = str(dataset["name"])
    if dataset.get("description"):
        out["description"] = str(dataset["description"])
    if isinstance(namespace, dict) and namespace.get("schema"):
        out["schema"] = str(namespace["schema"])
    converted = Converted(out)
    for ci, collection in enumerate(dataset.get("collections") or []):
        name = str(collection.get("name", ""))
        converted.paths[("collections", name)] = ("collections", ci)
        cmeta = collection.get("fides_meta") or {}
        spec: dict[str, Any] = {"fields": {}}
        if collection.get("description"):
            spec["description"] = str(collection["description"])
        override = cmeta.get("masking_strategy_override") or {}
        if override.get("strategy") == "delete":
            spec["erasure"] = "delete"
        if cmeta.get("skip_processing"):
            spec["skip"] = True
        for fi, item in enumerate(collection.get("fields") or []):
            fname = str(item.get("name", ""))
            where = ("collections", ci, "fields", fi)
            converted.paths[("collections", name, "fields", fname)] = where
            fmeta = item.get("fides_meta") or {}
            fspec: dict[str, Any] = {}
            if item.get("description"):
                fspec["description"] = str(item["description"])
            if item.get("data_categories"):
                fspec["categories"] = list(item["data_categories"])
            if fmeta.get("identity"):
                fspec["identity"] = str(fmeta["identity"])
            if fmeta.get("primary_key"):
                fspec["primary_key"] = True
            if fmeta.get("references"):
                fspec["references"] = [_reference(r, key) for r in fmeta["references"]]
            if fmeta.get("masking_strategy_override"):
                fspec["erasure"] = _masking(fmeta["masking_strategy_override"])
            if item.get("fields"):
                converted.notes.append(((*where, "fields"), f"nested fields of {name}.{fname} are not executed on "
                                        "SQL databases; the field is treated as one value"))
            spec["fields"][fname] = fspec
        out["collections"][name] = spec
    return converted
