"""Consent rates for the DPO: per cookie category and purpose, month by month, and as they stand now."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charte.consent.vocabulary import CollectionMethod, Decision, Scope, as_utc
from charte.ledger.chain import Clock, utcnow
from charte.store.consent import ConsentEvent, ConsentState


@dataclass
class Tally:
    """Decisions counted over a month (or now): the consent rate is given / (given + refused)."""

    given: int = 0
    refused: int = 0
    withdrawn: int = 0
    objected: int = 0

    @property
    def rate(self) -> float | None:
        """Share of people asked who agreed, None when nobody was asked."""
        asked = self.given + self.refused
        return self.given / asked if asked else None

    def add(self, decision: str, count: int) -> None:
        """Count ``count`` more decisions of one kind."""
        setattr(self, decision, getattr(self, decision) + count)


@dataclass
class Series:
    """One purpose or category: a tally per month and the current state."""

    scope: Scope
    key: str
    months: dict[str, Tally] = field(default_factory=dict)
    now: Tally = field(default_factory=Tally)


def last_months(count: int, *, clock: Clock = utcnow) -> list[str]:
    """The ``count`` months up to this one, oldest first, as ``YYYY-MM``."""
    today = as_utc(clock())
    year, month = today.year, today.month
    periods = []
    for _ in range(count):
        periods.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return periods[::-1]


def consent_rates(session: Session, *, months: int = 12, clock: Clock = utcnow) -> list[Series]:
    """Tallies per category and purpose over the last ``months`` months (decisions as people made them).

    Choices carried over when a visitor is linked are not new decisions and are left out.
    """
    periods = last_months(months, clock=clock)
    series: dict[tuple[str, str], Series] = {}

    def of(scope: str, key: str) -> Series:
        return series.setdefault((scope, key), Series(Scope(scope), key, {p: Tally() for p in periods}))

    events = ConsentEvent.__table__
    monthly = (select(events.c.period, events.c.scope, events.c.key, events.c.decision, func.count())
               .where(events.c.period >= periods[0], events.c.method != CollectionMethod.link.value)
               .group_by(events.c.period, events.c.scope, events.c.key, events.c.decision))
    for period, scope, key, decision, count in session.execute(monthly):
        if period in periods:
            of(scope, key).months[period].add(decision, count)
    states = ConsentState.__table__
    current = (select(states.c.scope, states.c.key, states.c.decision, func.count())
               .group_by(states.c.scope, states.c.key, states.c.decision))
    for scope, key, decision, count in session.execute(current):
        of(scope, key).now.add(decision, count)
    return sorted(series.values(), key=lambda s: (s.scope.value != Scope.category.value, s.key))


def decisions_total(session: Session, *, since: datetime | None = None) -> dict[Decision, int]:
    """How many decisions of each kind were recorded (since ``since``)."""
    query = select(ConsentEvent.decision, func.count()).group_by(ConsentEvent.decision)
    if since is not None:
        query = query.where(ConsentEvent.recorded_at >= since)
    totals: dict[Decision, int] = defaultdict(int)
    for decision, count in session.execute(query):
        totals[Decision(decision)] += count
    return dict(totals)
