"""What the policy page and the record of processing both derive from the manifest, computed once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import get_args

from charte.manifest.models import (
    CookieService,
    DataSource,
    Manifest,
    Purpose,
    Recipient,
    RecipientKind,
    SourceKind,
    tr,
)
from charte.manifest.taxonomy import EEA_COUNTRIES


@dataclass(frozen=True)
class Transfer:
    """A recipient outside the EEA: the data leave for a third country (GDPR Chapter V)."""

    name: str
    country: str
    safeguards: str | None


@dataclass(frozen=True)
class SourceGroup:
    """The data sources of one kind and the data categories they feed."""

    kind: SourceKind
    sources: list[DataSource]
    categories: list[str] = field(default_factory=list)


def purpose_recipients(manifest: Manifest, purpose: Purpose) -> list[Recipient]:
    """The declared recipients of a purpose, in the purpose's order."""
    return [manifest.recipients[k] for k in purpose.recipients if k in manifest.recipients]


def third_party_services(manifest: Manifest, purpose: Purpose | None = None) -> list[CookieService]:
    """Third-party cookie services (of one purpose's cookie categories, or all): they receive data."""
    return [
        service
        for category in manifest.cookies.categories.values()
        if purpose is None or purpose.key in category.purposes
        for service in category.services.values()
        if not service.first_party
    ]


def special_categories(manifest: Manifest, purpose: Purpose) -> list[str]:
    """The Art. 9 special categories a purpose processes."""
    return [c for c in purpose.data_categories if manifest.is_special(c)]


def category_name(manifest: Manifest, key: str, lang: str) -> str:
    """A data category's display name, its key when undeclared."""
    declared = manifest.data_categories.get(key)
    return tr(declared.name, lang) if declared else key


def transfers(manifest: Manifest, lang: str, purpose: Purpose | None = None) -> list[Transfer]:
    """Recipients and third-party cookie services outside the EEA, for one purpose or the whole manifest."""
    recipients = (purpose_recipients(manifest, purpose) if purpose else list(manifest.recipients.values()))
    found = [Transfer(tr(r.name, lang), r.country, r.safeguards) for r in recipients
             if r.country.upper() not in EEA_COUNTRIES]
    found += [Transfer(s.name, s.country, None) for s in third_party_services(manifest, purpose)
              if s.country.upper() not in EEA_COUNTRIES]
    return found


def sources_by_kind(manifest: Manifest) -> list[SourceGroup]:
    """Declared sources grouped by kind (provided, automatic, partners, public), in that order."""
    groups = []
    for kind in get_args(SourceKind):
        sources = [s for s in manifest.data_sources.values() if s.kind == kind]
        if not sources:
            continue
        keys = {s.key for s in sources}
        categories: list[str] = []
        for purpose in manifest.purposes.values():
            if keys & set(purpose.sources):
                categories += [c for c in purpose.data_categories if c not in categories]
        groups.append(SourceGroup(kind, sources, categories))
    return groups


def recipients_by_kind(manifest: Manifest) -> list[tuple[RecipientKind, list[Recipient]]]:
    """Declared recipients grouped by kind, in the order processors, partners, authorities, joint controllers."""
    groups = []
    for kind in get_args(RecipientKind):
        members = [r for r in manifest.recipients.values() if r.kind == kind]
        if members:
            groups.append((kind, members))
    return groups
