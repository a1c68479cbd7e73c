"""Running the retention sweep: every rule of every system, in batches, resumable, summarised in the ledger."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from charte.anonymise import Keyring, MissingPseudonymKey
from charte.datastores.catalog import ConnectedSystem
from charte.datastores.report import json_value
from charte.datastores.strategies import needs_keyring
from charte.ledger import utcnow
from charte.ledger.chain import Clock
from charte.manifest.models import Manifest
from charte.retention.journal import (
    RuleProgress,
    RunHandle,
    begin_run,
    collection_counts,
    complete_rule,
    finish_run,
    interrupt_run,
    rule_progress,
    save_progress,
)
from charte.retention.rules import Rule, system_rules
from charte.retention.statements import RuleSql, key_params

DEFAULT_BATCH = 50_000
DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class BatchDone:
    """One committed batch, for progress displays: the rows examined and changed."""

    rule: Rule
    examined: int
    changed: int


@dataclass
class CollectionSweep:
    """What one run did to one collection (and, through its deletes, to the rows referencing it)."""

    system: str
    collection: str
    rules: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        """Rows deleted, anonymised, pseudonymised or detached, in the collection and the rows depending on it."""
        return sum(v for k, v in self.counts.items() if not k.endswith(":archived"))


@dataclass
class RunReport:
    """The outcome of ``run_retention``."""

    run_id: int
    as_of: datetime
    resumed: bool
    sweeps: list[CollectionSweep]

    @property
    def totals(self) -> dict[str, int]:
        """Rows changed per count name (``deleted``, ``anonymised``...) over every collection."""
        out: dict[str, int] = {}
        for sweep in self.sweeps:
            for name, value in sweep.counts.items():
                kind = name.rpartition(":")[2]
                out[kind] = out.get(kind, 0) + value
        return out


@dataclass
class _Context:
    manifest: Manifest
    store: sessionmaker[Session]
    run: RunHandle
    clock: Clock
    keyring: Keyring | None
    batch_size: int
    lease: timedelta
    on_batch: Callable[[BatchDone], None] | None
    renewed: float = field(default_factory=time.monotonic)

    def renewal(self) -> timedelta | None:
        """The lease to renew with this journal write: only once half of it has gone (one statement less)."""
        if time.monotonic() - self.renewed < self.lease.total_seconds() / 2:
            return None
        self.renewed = time.monotonic()
        return self.lease


def resolve_rules(manifest: Manifest, systems: Mapping[str, ConnectedSystem]) -> dict[str, list[Rule]]:
    """Every system's rules, resolved before anything runs: a wrong annotation stops the run, not half of it."""
    return {key: system_rules(manifest, key, system.catalog) for key, system in systems.items()}


def run_retention(manifest: Manifest, systems: Mapping[str, ConnectedSystem], store: sessionmaker[Session], *,
                  clock: Clock = utcnow, keyring: Keyring | None = None, batch_size: int = DEFAULT_BATCH,
                  actor: str = "cli", lease: timedelta = DEFAULT_LEASE,
                  on_batch: Callable[[BatchDone], None] | None = None) -> RunReport:
    """Apply every due retention rule of ``systems``; resume the unfinished run first if there is one."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rules = resolve_rules(manifest, systems)
    if keyring is None and any(needs_keyring(e) for found in rules.values() for r in found for _, e in r.masks):
        raise MissingPseudonymKey("a retention rule makes keyed pseudonyms: set CHARTE_PSEUDONYM_KEYS")
    run = begin_run(store, systems=sorted(systems), actor=actor, clock=clock, lease=lease)
    missing = [s for s in run.systems if s not in systems]
    if missing:
        interrupt_run(store, run, clock=clock, error="resumed without all its systems")
        raise RetentionResumeError(f"retention run {run.id} (interrupted) also covers {', '.join(missing)}: run it "
                                   "again with every system so it can finish first")
    ctx = _Context(manifest, store, run, clock, keyring, batch_size, lease, on_batch)
    sweeps: list[CollectionSweep] = []
    try:
        for key in run.systems:
            sweeps += _sweep_system(ctx, systems[key], rules[key], actor)
    except BaseException as exc:
        interrupt_run(store, run, clock=clock, error=f"{type(exc).__name__}: {exc}")
        raise
    report = RunReport(run.id, run.as_of, run.resumed, sweeps)
    finish_run(store, run, clock=clock, totals=report.totals)
    return report


class RetentionResumeError(RuntimeError):
    """The unfinished run cannot be resumed with the systems given."""


def _sweep_system(ctx: _Context, system: ConnectedSystem, rules: list[Rule], actor: str) -> list[CollectionSweep]:
    sweeps: list[CollectionSweep] = []
    by_collection: dict[str, list[Rule]] = {}
    for rule in rules:
        by_collection.setdefault(rule.collection, []).append(rule)
    for name, collection_rules in by_collection.items():
        for i, rule in enumerate(collection_rules):
            # The collection's summary is written with its last rule's completion, in one transaction.
            _sweep_rule(ctx, system, rule, actor, rules=len(collection_rules) if i == len(collection_rules) - 1
                        else None)
        with ctx.store() as session:
            counts = collection_counts(session, ctx.run, system.key, name)
        sweeps.append(CollectionSweep(system.key, name, len(collection_rules), counts))
    return sweeps


def _summary(ctx: _Context, rule: Rule, rules: int) -> Callable[[Session], dict[str, Any]]:
    """The ledger payload, read in the transaction that closes the collection: counts only, never a row's data."""

    def build(session: Session) -> dict[str, Any]:
        payload: dict[str, Any] = {"run": ctx.run.id, "system": rule.system, "collection": rule.collection,
                                   "as_of": ctx.run.as_of.isoformat(timespec="seconds"), "rules": rules}
        for name, value in sorted(collection_counts(session, ctx.run, rule.system, rule.collection).items()):
            collection, _, kind = name.rpartition(":")
            payload[kind if collection == rule.collection else f"{collection}.{kind}"] = value
        return payload

    return build


def _sweep_rule(ctx: _Context, system: ConnectedSystem, rule: Rule, actor: str, *, rules: int | None) -> None:
    progress = rule_progress(ctx.store, ctx.run, rule, ctx.clock)
    if progress.status == "done":
        return
    sql = RuleSql(rule, system.catalog, ctx.manifest, ctx.run.as_of, system.engine.dialect, ctx.keyring)
    with system.engine.connect() as conn:
        sql.prepare(conn)
    if progress.pending is not None:
        _finish_pending(ctx, system, sql, progress)
    stride = _Stride(ctx.batch_size) if sql.bounded else None
    while _batch(ctx, system, sql, progress, stride):
        pass
    # The collection's summary goes with its last rule's completion, in one transaction.
    summary = _summary(ctx, rule, rules) if rules is not None else None
    complete_rule(ctx.store, ctx.run, progress, clock=ctx.clock, summary=summary, actor=actor)


def _write_conn(system: ConnectedSystem) -> Connection:
    # On SQLite, take the write lock when the batch begins (see charte.datastores.connect).
    return system.engine.connect().execution_options(charte_write=True)


def _changes(sql: RuleSql, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [p for row in rows if (p := sql.new_values(row)) is not None]


def _execute(conn: Connection, sql: RuleSql, changes: list[dict[str, Any]], first: bool,
             params: dict[str, Any]) -> tuple[dict[str, int], int]:
    """Run one batch's writes; the counts by ``collection:kind`` and the rows of the rule's own collection."""
    rule = sql.rule
    if sql.per_value:
        if changes:
            conn.execute(sql.row_update(), changes)
        return {f"{rule.collection}:{sql.count_name}": len(changes)}, len(changes)
    counts: dict[str, int] = {}
    own = 0
    for collection, kind, statement in sql.statements(first=first):
        # Drivers report an INSERT ... SELECT's row count only if asked to keep it.
        affected = conn.execute(statement, params, execution_options={"preserve_rowcount": True}).rowcount
        name = f"{collection}:{kind}"
        counts[name] = counts.get(name, 0) + affected
        if collection == rule.collection and kind == sql.count_name:
            own += affected
    return counts, own


def _add(progress: RuleProgress, counts: dict[str, int]) -> None:
    for name, value in counts.items():
        progress.counts[name] = progress.counts.get(name, 0) + value


@dataclass
class _Stride:
    """Key ranges for integer keys: batches sized by key span, so a batch needs no query to find where it ends.

    The span adapts to the rows each batch changed, aiming at ``target`` rows; a batch that changed nothing makes
    the next one start at the first key still due (past a gap, or the end).
    """

    target: int
    span: int = 0
    jump: bool = True
    usable: bool = True

    def __post_init__(self) -> None:
        self.span = self.target

    def adapt(self, changed: int) -> None:
        """Resize the span after a batch that changed ``changed`` rows."""
        if changed == 0:
            self.jump = True
            return
        wanted = self.span * self.target // changed
        self.span = max(1, min(wanted, self.span * 4, _MAX_KEY), self.span // 4)


_MAX_KEY = 2**63 - 1


def _stride_range(conn: Connection, sql: RuleSql, progress: RuleProgress, stride: _Stride,
                  ) -> tuple[tuple[Any, ...] | None, tuple[Any, ...]] | None:
    """The key range ``(after, through]`` of the next batch, or None when nothing is due any more."""
    after = progress.last_key
    if stride.jump or after is None:
        start = _next_due(conn, sql, after, 2 * stride.span)
        if start is None:
            return None
        if not isinstance(start, int) or isinstance(start, bool):
            stride.usable = False
            return after, ()
        after, stride.jump = (start - 1,), False
    return after, (min(int(after[0]) + stride.span, _MAX_KEY),)


def _next_due(conn: Connection, sql: RuleSql, after: tuple[Any, ...] | None, window: int) -> Any:
    """The first key still due after ``after``, or None: looked for just ahead through the key index; if none is
    there, first asked whether any is left at all (a cheap sequential read when none is, as at the end of every
    rule), and only then found through the index."""
    if after is not None and isinstance(after[0], int):
        ahead = (min(after[0] + window, _MAX_KEY),)
        params = {**key_params(after, "after"), **key_params(ahead, "through")}
        near = conn.execute(sql.select_next(first=False, bounded=True), params).scalar()
        if near is not None:
            return near
        after = ahead
    params = key_params(after, "after") if after is not None else {}
    if conn.execute(sql.select_any(first=after is None), params).first() is None:
        return None
    return conn.execute(sql.select_next(first=after is None), params).scalar()


def _batch(ctx: _Context, system: ConnectedSystem, sql: RuleSql, progress: RuleProgress,
           stride: _Stride | None = None) -> bool:
    """One batch in its own transaction; False once no row is due any more."""
    after = progress.last_key
    with _write_conn(system) as conn, conn.begin():
        changes: list[dict[str, Any]] = []
        through: tuple[Any, ...] = ()
        if stride is not None and stride.usable:
            found = _stride_range(conn, sql, progress, stride)
            if found is None:
                return False
            after, through = found
        first = after is None
        params = key_params(after, "after") if after is not None else {}
        if through:
            examined = -1  # known once the statements ran
        elif sql.bounded:
            examined, last = conn.execute(sql.select_bounds(first=first, size=ctx.batch_size), params).one()
            through = (last,)
        else:
            rows = conn.execute(sql.select_batch(first=first, size=ctx.batch_size), params).all()
            examined = len(rows)
            through = tuple(rows[-1][:len(sql.keys)]) if rows else ()
            changes = _changes(sql, rows) if sql.per_value else []
        if not examined:
            return False
        params.update(key_params(through, "through"))
        counts, own = _execute(conn, sql, changes, first, params)
        if examined < 0:
            examined = own
            if stride is not None:
                stride.adapt(own)
        if any(counts.values()):
            # Journaled before the commit, with what the batch changed: see charte.retention.journal.
            progress.pending = {"after": _json(after) if after is not None else None, "through": _json(through),
                                "counts": counts}
            save_progress(ctx.store, ctx.run, progress, clock=ctx.clock, lease=ctx.renewal())
    _add(progress, counts)
    progress.last_key, progress.pending = through, None
    progress.batches += 1
    if ctx.on_batch is not None:
        ctx.on_batch(BatchDone(sql.rule, examined, own))
    return True


def _finish_pending(ctx: _Context, system: ConnectedSystem, sql: RuleSql, progress: RuleProgress) -> None:
    """Settle the batch in flight when the last run stopped: run it again; if nothing is left to do in its range,
    it had committed, and its journaled counts stand."""
    pending = progress.pending or {}
    after = tuple(pending["after"]) if pending.get("after") is not None else None
    through = tuple(pending["through"])
    params = {**(key_params(after, "after") if after is not None else {}), **key_params(through, "through")}
    with _write_conn(system) as conn, conn.begin():
        changes: list[dict[str, Any]] = []
        if sql.per_value:
            changes = _changes(sql, conn.execute(sql.select_range(first=after is None), params).all())
        counts, own = _execute(conn, sql, changes, after is None, params)
    _add(progress, counts if own else dict(pending.get("counts") or {}))
    progress.last_key, progress.pending = through, None
    progress.batches += 1
    save_progress(ctx.store, ctx.run, progress, clock=ctx.clock, lease=ctx.lease)


def _json(key: Sequence[Any]) -> list[Any]:
    """A key as JSON for the journal (dates as ISO text)."""
    return [json_value(v) for v in key]
