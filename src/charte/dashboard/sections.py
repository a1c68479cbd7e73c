"""The overview's sections: what needs the DPO's attention today, one registry that other areas add to.

A section loads its data from the store; ``None`` hides it (its module is absent), an empty list shows it with
"nothing to do". The requests area adds its section with::

    register_section(OverviewSection("requests", "admin/overview/requests.html", load_requests_due, order=10))

where ``load_requests_due(context)`` returns the requests by due date and the template marks late ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from charte.breaches.register import Breach, list_breaches, needing_attention
from charte.dashboard.consents import ConsentRate, consent_module_present, consent_rates
from charte.dashboard.retention import RetentionRun, last_retention_runs
from charte.ledger import Verification, verify
from charte.manifest.models import Manifest


@dataclass(frozen=True)
class OverviewContext:
    """What every loader may use."""

    session: Session
    manifest: Manifest
    now: datetime
    lang: str


@dataclass(frozen=True)
class OverviewSection:
    """One block of the overview: a template fed by a loader."""

    key: str
    template: str
    load: Callable[[OverviewContext], Any]
    order: int = 100


@dataclass(frozen=True)
class BreachClocks:
    """Breaches needing attention and how many the register holds."""

    attention: list[Breach]
    total: int


_SECTIONS: dict[str, OverviewSection] = {}


def register_section(section: OverviewSection) -> None:
    """Add or replace (by key) an overview section."""
    _SECTIONS[section.key] = section


def collect(context: OverviewContext) -> list[tuple[OverviewSection, Any]]:
    """Each section with its data, in order; sections whose loader returns None are left out."""
    found = []
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key)):
        data = section.load(context)
        if data is not None:
            found.append((section, data))
    return found


def _breaches(context: OverviewContext) -> BreachClocks:
    breaches = list_breaches(context.session)
    return BreachClocks(needing_attention(breaches, context.now), len(breaches))


def _consents(context: OverviewContext) -> list[ConsentRate] | None:
    if not consent_module_present():
        return None
    return consent_rates(context.session, context.manifest, context.lang)


def _retention(context: OverviewContext) -> list[RetentionRun] | None:
    return last_retention_runs(context.session)


def _ledger(context: OverviewContext) -> Verification:
    return verify(context.session)


for _section in (
    OverviewSection("breaches", "admin/overview/breaches.html", _breaches, order=20),
    OverviewSection("consents", "admin/overview/consents.html", _consents, order=30),
    OverviewSection("retention", "admin/overview/retention.html", _retention, order=40),
    OverviewSection("ledger", "admin/overview/ledger.html", _ledger, order=50),
):
    register_section(_section)
