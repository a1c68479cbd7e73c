"""The collections a breach can name, and who they identify, from the systems' dataset annotations.

The datastores module reads the annotations (Charte's format or Fides dataset YAML, inline or in files next to the
manifest); without it, inline Fides datasets in the manifest are read here. A collection holds people when one of
its fields identifies a person (Fides ``fides_meta.identity``, Charte's ``identity``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from charte.breaches.facts import AffectedCollection
from charte.manifest.models import Manifest


@dataclass(frozen=True)
class AnnotatedCollection:
    """A collection as the annotations describe it: where its rows are, and which fields identify people."""

    collection: AffectedCollection
    identities: dict[str, str]


def _fides_identities(fields: Iterable[Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for field in fields:
        meta = field.get("fides_meta") or {} if isinstance(field, Mapping) else {}
        if isinstance(meta, Mapping) and meta.get("identity") and field.get("name"):
            found.setdefault(str(meta["identity"]), str(field["name"]))
    return found


def _inline_fides(manifest: Manifest) -> list[AnnotatedCollection]:
    found = []
    for key, system in manifest.systems.items():
        for dataset in system.datasets:
            for collection in dataset.get("collections") or []:
                if isinstance(collection, Mapping) and collection.get("name"):
                    identities = _fides_identities(collection.get("fields") or [])
                    found.append(AnnotatedCollection(
                        AffectedCollection(key, str(collection["name"]), bool(identities)), identities))
    return found


def _from_datastores(manifest: Manifest, manifest_dir: Path) -> list[AnnotatedCollection]:
    datastores = importlib.import_module("charte.datastores")
    # Problems in the annotations are reported by `charte check`; what could be read is still offered here.
    systems, _problems = datastores.read_datasets(manifest, base_dir=manifest_dir)
    found = []
    for key, system in systems.items():
        for collection, loaded in system.collections.values():
            schema = collection.schema_ or loaded.dataset.schema_
            table = f"{schema}.{collection.table_name}" if schema else collection.table_name
            identities = {kind: names[0] for kind, names in collection.identity_fields.items() if names}
            found.append(AnnotatedCollection(AffectedCollection(key, table, bool(identities)), identities))
    return found


def annotated(manifest: Manifest, manifest_dir: Path | None = None) -> list[AnnotatedCollection]:
    """Every annotated collection of the manifest's systems, in manifest order."""
    if manifest_dir is not None and importlib.util.find_spec("charte.datastores") is not None:
        return _from_datastores(manifest, manifest_dir)
    return _inline_fides(manifest)


def annotated_collections(manifest: Manifest, manifest_dir: Path | None = None) -> list[AffectedCollection]:
    """The collections the annotations declare, each marked when it holds one row per person."""
    return [a.collection for a in annotated(manifest, manifest_dir)]


def email_field(manifest: Manifest, collection: AffectedCollection, manifest_dir: Path | None = None) -> str | None:
    """The field holding people's email in an annotated collection, if the annotations name one."""
    for found in annotated(manifest, manifest_dir):
        if (found.collection.system, found.collection.collection) == (collection.system, collection.collection):
            return found.identities.get("email")
    return None
