"""What a retention run would do now: per rule, the rows due now and soon, those kept, and the exact SQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Executable, and_, not_

from charte.anonymise import Keyring
from charte.datastores.catalog import ConnectedSystem
from charte.datastores.strategies import needs_keyring
from charte.ledger import utcnow
from charte.ledger.chain import Clock
from charte.manifest.models import Manifest
from charte.retention.journal import aware
from charte.retention.rules import Boundary, RetentionConfigError, Rule, system_rules
from charte.retention.run import DEFAULT_BATCH
from charte.retention.statements import RuleSql, render

DEFAULT_HORIZON = timedelta(days=30)


@dataclass
class RulePlan:
    """One rule: how many rows it changes now and within the horizon, how many a hold or a reference keeps."""

    rule: Rule
    boundary: Boundary
    due_now: int
    due_soon: int
    held: int
    referenced: int
    statements: list[str] = field(default_factory=list)


@dataclass
class RetentionPlan:
    """The plan of every rule of the systems asked for, and the rules that cannot run as annotated."""

    as_of: datetime
    horizon: timedelta
    rules: list[RulePlan]
    problems: list[str] = field(default_factory=list)

    @property
    def due_now(self) -> int:
        """Rows the next run changes (or examines, for values masked one by one)."""
        return sum(r.due_now for r in self.rules)


def _plan_rule(manifest: Manifest, system: ConnectedSystem, rule: Rule, now: datetime, horizon: timedelta,
               keyring: Keyring | None, batch_size: int) -> RulePlan:
    if keyring is None and any(needs_keyring(e) for _, e in rule.masks):
        # Which key makes the pseudonyms changes no statement: plan with a throwaway one.
        keyring = Keyring.generate("plan")
    sql = RuleSql(rule, system.catalog, manifest, now, system.engine.dialect, keyring)
    with system.engine.connect() as conn:
        sql.prepare(conn)
        due_now = sql.count(conn, sql.due())
        due_later = sql.count(conn, sql.due(now + horizon))
        changing = [sql.expired(), not_(sql.released())]
        if (unchanged := sql.unchanged()) is not None:
            changing.append(unchanged)
        held = sql.count(conn, and_(*changing))
        blocked = sql.blocked()
        referenced = sql.count(conn, and_(sql.expired(), sql.released(), blocked)) if blocked is not None else 0
        dialect = conn.dialect
        # What a batch runs: where it starts (integer keys, see charte.retention.run) or which keys it takes.
        shown: list[Executable] = [sql.select_next(first=False) if sql.bounded
                                   else sql.select_batch(first=False, size=batch_size)]
        shown += [sql.row_update()] if sql.per_value else [s for _, _, s in sql.statements(first=False)]
        statements = [render(s, dialect) for s in shown]
    return RulePlan(rule, rule.expiry.boundary(now), due_now, max(due_later - due_now, 0), held, referenced,
                    statements)


def plan_retention(manifest: Manifest, systems: Mapping[str, ConnectedSystem], *, clock: Clock = utcnow,
                   horizon: timedelta = DEFAULT_HORIZON, keyring: Keyring | None = None,
                   batch_size: int = DEFAULT_BATCH, collections: Iterable[str] | None = None) -> RetentionPlan:
    """Count what each rule would change now and within ``horizon``, and render the statements of a batch."""
    now = aware(clock())
    plan = RetentionPlan(now, horizon, [])
    wanted = set(collections) if collections is not None else None
    for key, system in systems.items():
        try:
            rules = system_rules(manifest, key, system.catalog)
        except RetentionConfigError as exc:
            plan.problems.append(str(exc))
            continue
        for rule in rules:
            if wanted is not None and rule.collection not in wanted:
                continue
            try:
                plan.rules.append(_plan_rule(manifest, system, rule, now, horizon, keyring, batch_size))
            except RetentionConfigError as exc:
                plan.problems.append(str(exc))
    return plan
