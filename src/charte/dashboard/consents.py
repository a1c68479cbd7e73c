"""Consent rates per cookie category and per purpose, read from the consent module's current state when it exists."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.orm import Session

from charte.manifest.models import Manifest, tr

#: The table the consent module keeps the newest decision per subject and purpose or category in.
STATE_TABLE = "consent_state"


@dataclass(frozen=True)
class ConsentRate:
    """How many people decided about one cookie category or purpose, and how many said yes."""

    scope: str
    key: str
    name: str
    given: int
    decided: int

    @property
    def percent(self) -> int:
        """Share of decisions that are a consent given, rounded to a whole percent."""
        return round(100 * self.given / self.decided) if self.decided else 0


def consent_module_present() -> bool:
    """Whether Charte has its consent module (the consent issue); without it there is nothing to read."""
    return importlib.util.find_spec("charte.consent") is not None


def consent_rates(session: Session, manifest: Manifest, lang: str) -> list[ConsentRate]:
    """Rates per cookie category then per purpose, in manifest order; empty without the consent module or data."""
    if not consent_module_present() or not inspect(session.connection()).has_table(STATE_TABLE):
        return []
    state = table(STATE_TABLE, column("scope"), column("key"), column("decision"))
    rows = session.execute(
        select(state.c.scope, state.c.key, state.c.decision, func.count()).group_by(
            state.c.scope, state.c.key, state.c.decision)
    ).all()
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for scope, key, decision, number in rows:
        counts.setdefault((str(scope), str(key)), {})[str(decision)] = int(number)
    named = [("category", k, tr(c.name, lang)) for k, c in manifest.cookies.categories.items()]
    named += [("purpose", k, tr(p.name, lang)) for k, p in manifest.purposes.items()]
    return [ConsentRate(scope, key, name, decisions.get("given", 0), sum(decisions.values()))
            for scope, key, name in named if (decisions := counts.get((scope, key)))]
