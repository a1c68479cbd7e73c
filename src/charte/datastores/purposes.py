"""Which purposes of the manifest use a field, and whether the field is portable (Art. 20)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from charte.datastores.annotations import Collection, DataField
from charte.manifest.models import Manifest, System

#: Art. 20(1)(a): portability covers processing based on consent or on a contract.
PORTABLE_BASES = frozenset({"consent", "contract"})


def covers(purpose_category: str, field_category: str) -> bool:
    """Whether a purpose declaring ``purpose_category`` uses data of ``field_category`` (same or narrower)."""
    return field_category == purpose_category or field_category.startswith(purpose_category + ".")


def purposes_using(manifest: Manifest, system: System, collection: Collection,
                   categories: Iterable[str]) -> list[str]:
    """Purposes (of the collection, else the system, else the whole manifest) that use one of ``categories``."""
    wanted = list(categories)
    allowed = collection.purposes or system.purposes or list(manifest.purposes)
    return [key for key in allowed if key in manifest.purposes
            and any(covers(pc, fc) for pc in manifest.purposes[key].data_categories for fc in wanted)]


@dataclass(frozen=True)
class FieldInfo:
    """What an access report says about a field: its categories and the purposes using it."""

    name: str
    categories: tuple[str, ...]
    purposes: tuple[str, ...]
    portable: bool


def field_info(manifest: Manifest, system: System, collection: Collection, spec: DataField) -> FieldInfo:
    """The categories, purposes and portability of one annotated field."""
    purposes = purposes_using(manifest, system, collection, spec.all_categories)
    return FieldInfo(spec.name, spec.all_categories, tuple(purposes), _portable(manifest, spec, purposes))


def _portable(manifest: Manifest, spec: DataField, purposes: list[str]) -> bool:
    # Portability covers data the subject provided, for purposes resting on consent or a contract.
    if spec.source is not None:
        source = manifest.data_sources.get(spec.source)
        if source is None or source.kind != "provided":
            return False
        return any(manifest.purposes[p].legal_basis in PORTABLE_BASES for p in purposes)
    for key in purposes:
        purpose = manifest.purposes[key]
        if purpose.legal_basis in PORTABLE_BASES and any(
            manifest.data_sources[s].kind == "provided" for s in purpose.sources if s in manifest.data_sources
        ):
            return True
    return False
