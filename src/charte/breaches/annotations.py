"""The collections a breach can name, and who they identify, from the systems' dataset annotations.

The datastores loader reads the annotations (Charte's format or Fides dataset YAML, inline or in files next to the
manifest). A collection holds people when one of its fields identifies a person (Fides ``fides_meta.identity``,
Charte's ``identity``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from charte.breaches.facts import AffectedCollection
from charte.manifest.models import Manifest


@dataclass(frozen=True)
class AnnotatedCollection:
    """A collection as the annotations describe it: where its rows are, and which fields identify people."""

    collection: AffectedCollection
    identities: dict[str, str]


def annotated(manifest: Manifest, manifest_dir: Path | None = None) -> list[AnnotatedCollection]:
    """Every annotated collection of the manifest's systems, in manifest order; ``file:`` references are read
    from ``manifest_dir`` (default: the current directory)."""
    from charte.datastores.loading import read_datasets

    # Problems in the annotations are reported by `charte check`; what could be read is still offered here.
    systems, _problems = read_datasets(manifest, base_dir=manifest_dir or Path())
    found = []
    for key, system in systems.items():
        for collection, loaded in system.collections.values():
            schema = collection.schema_ or loaded.dataset.schema_
            table = f"{schema}.{collection.table_name}" if schema else collection.table_name
            identities = {kind: names[0] for kind, names in collection.identity_fields.items() if names}
            found.append(AnnotatedCollection(AffectedCollection(key, table, bool(identities)), identities))
    return found


def annotated_collections(manifest: Manifest, manifest_dir: Path | None = None) -> list[AffectedCollection]:
    """The collections the annotations declare, each marked when it holds one row per person."""
    return [a.collection for a in annotated(manifest, manifest_dir)]


def email_field(manifest: Manifest, collection: AffectedCollection, manifest_dir: Path | None = None) -> str | None:
    """The field holding people's email in an annotated collection, if the annotations name one."""
    for found in annotated(manifest, manifest_dir):
        if (found.collection.system, found.collection.collection) == (collection.system, collection.collection):
            return found.identities.get("email")
    return None
