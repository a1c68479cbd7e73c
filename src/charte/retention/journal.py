"""The progress journal of retention runs, in Charte's store: what a resumed run must not redo.

The organisation's database and Charte's store are two databases, so a batch cannot commit in both at once. The
journal therefore records a batch as *pending* (its key range and expected count) before the batch commits in the
organisation's database, and as done after. A run resumed after a crash runs a pending batch again: it changes
nothing if the batch had committed (its rows are no longer due), and does the work if it had not.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from charte import ledger
from charte.ledger.chain import Clock
from charte.retention.rules import Rule
from charte.store import transaction
from charte.store.retention import RetentionProgressRecord, RetentionRunRecord

#: Ledger event recorded once per collection and run, with counts only.
SWEPT_EVENT = "retention.swept"


class RetentionRunInProgress(RuntimeError):
    """Another process is sweeping: one run at a time, and its lease has not expired."""


class LeaseLost(RuntimeError):
    """Another process took this run over (this one was presumed dead): stop without writing further."""


def aware(value: datetime) -> datetime:
    """The instant with its time zone (SQLite gives stored instants back without one; they are UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _owner() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _owner_dead(owner: str) -> bool:
    """Whether the owner was a process on this machine that no longer exists (a killed ``charte`` command)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:60] or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class RunHandle:
    """A run this process owns: its id, the instant its cutoffs are computed from, and the systems it sweeps."""

    id: int
    as_of: datetime
    owner: str
    resumed: bool
    systems: tuple[str, ...]


@dataclass
class RuleProgress:
    """Where one rule of a run stands: the last key done, the batch in flight, the rows changed so far."""

    id: int
    status: str
    last_key: tuple[Any, ...] | None
    pending: dict[str, Any] | None
    counts: dict[str, int]
    batches: int


def begin_run(factory: sessionmaker[Session], *, systems: Sequence[str], actor: str, clock: Clock,
              lease: timedelta) -> RunHandle:
    """Start a run, or resume the unfinished one (same instant, same systems); raise when another process holds it."""
    now = aware(clock())
    owner = _owner()
    with transaction(factory) as session:
        active = session.scalars(select(RetentionRunRecord).where(RetentionRunRecord.active == 1)
                                 .with_for_update()).first()
        if active is not None:
            live = active.status == "running" and aware(active.lease_until) > now and not _owner_dead(active.owner)
            if live:
                raise RetentionRunInProgress(f"retention run {active.id} is in progress (owner {active.owner}, lease "
                                             f"until {aware(active.lease_until).isoformat(timespec='seconds')})")
            active.owner, active.status, active.lease_until, active.error = owner, "running", now + lease, None
            return RunHandle(active.id, aware(active.as_of), owner, True, tuple(active.systems))
    try:
        with transaction(factory) as session:
            record = RetentionRunRecord(as_of=now, status="running", active=1, actor=actor, systems=list(systems),
                                        owner=owner, lease_until=now + lease, started_at=now, totals={})
            session.add(record)
            session.flush()
            return RunHandle(record.id, now, owner, False, tuple(systems))
    except IntegrityError as exc:
        raise RetentionRunInProgress("another retention run started at the same moment") from exc


def _renew(session: Session, run: RunHandle, now: datetime, lease: timedelta) -> None:
    result = session.execute(update(RetentionRunRecord).where(RetentionRunRecord.id == run.id,
                                                              RetentionRunRecord.owner == run.owner)
                             .values(lease_until=now + lease))
    if getattr(result, "rowcount", 1) != 1:
        raise LeaseLost(f"retention run {run.id} was taken over by another process")


def _record(session: Session, run: RunHandle, rule: Rule, now: datetime) -> RetentionProgressRecord:
    found = session.scalars(select(RetentionProgressRecord).where(
        RetentionProgressRecord.run_id == run.id, RetentionProgressRecord.system == rule.system,
        RetentionProgressRecord.collection == rule.collection, RetentionProgressRecord.rule == rule.index)).first()
    if found is None:
        found = RetentionProgressRecord(run_id=run.id, system=rule.system, collection=rule.collection,
                                        rule=rule.index, status="running", last_key=None, pending=None, counts={},
                                        batches=0, updated_at=now)
        session.add(found)
        session.flush()
    return found


def rule_progress(factory: sessionmaker[Session], run: RunHandle, rule: Rule, clock: Clock) -> RuleProgress:
    """The progress of ``rule`` in ``run`` (a new rule starts from the first key)."""
    with transaction(factory) as session:
        record = _record(session, run, rule, aware(clock()))
        key = tuple(record.last_key) if record.last_key is not None else None
        return RuleProgress(record.id, record.status, key, record.pending, dict(record.counts), record.batches)


def save_progress(factory: sessionmaker[Session], run: RunHandle, progress: RuleProgress, *, clock: Clock,
                  lease: timedelta | None) -> None:
    """Write ``progress`` (with its pending batch, if any) in one short transaction; with ``lease``, renew the run's
    lease too. Raise :class:`LeaseLost` if another process took the run over.

    A batch is written as pending with the rows it changed, after its statements ran and before the organisation's
    database commits it: one write per batch, and a resumed run knows what the last batch did either way.
    """
    now = aware(clock())
    with transaction(factory) as session:
        if lease is not None:
            _renew(session, run, now, lease)
        owned = select(RetentionRunRecord.id).where(RetentionRunRecord.id == run.id,
                                                    RetentionRunRecord.owner == run.owner)
        result = session.execute(update(RetentionProgressRecord).where(
            RetentionProgressRecord.id == progress.id, RetentionProgressRecord.run_id.in_(owned)).values(
            last_key=list(progress.last_key) if progress.last_key is not None else None, pending=progress.pending,
            counts=progress.counts, batches=progress.batches, updated_at=now))
        if getattr(result, "rowcount", 1) != 1:
            raise LeaseLost(f"retention run {run.id} was taken over by another process")


def complete_rule(factory: sessionmaker[Session], run: RunHandle, progress: RuleProgress, *, clock: Clock,
                  summary: Callable[[Session], dict[str, Any]] | None, actor: str) -> None:
    """Mark the rule done; with ``summary``, the collection is done too: its ledger event, in the same transaction."""
    now = aware(clock())
    with transaction(factory) as session:
        session.execute(update(RetentionProgressRecord).where(RetentionProgressRecord.id == progress.id).values(
            status="done", pending=None, counts=progress.counts, batches=progress.batches,
            last_key=list(progress.last_key) if progress.last_key is not None else None, updated_at=now))
        if summary is not None:
            ledger.append(session, SWEPT_EVENT, summary(session), actor=actor, clock=clock)


def collection_counts(session: Session, run: RunHandle, system: str, collection: str) -> dict[str, int]:
    """The rows every rule of a collection changed in a run, by ``collection:count`` name."""
    records = session.scalars(select(RetentionProgressRecord).where(
        RetentionProgressRecord.run_id == run.id, RetentionProgressRecord.system == system,
        RetentionProgressRecord.collection == collection))
    total: dict[str, int] = {}
    for record in records:
        for name, value in record.counts.items():
            total[name] = total.get(name, 0) + value
    return total


def finish_run(factory: sessionmaker[Session], run: RunHandle, *, clock: Clock, totals: dict[str, int]) -> None:
    """Close the run: done, no longer active, its totals kept for the dashboard."""
    now = aware(clock())
    with transaction(factory) as session:
        record = session.get_one(RetentionRunRecord, run.id)
        record.status, record.active, record.finished_at, record.totals = "done", None, now, totals
        record.lease_until = now


def interrupt_run(factory: sessionmaker[Session], run: RunHandle, *, clock: Clock, error: str) -> None:
    """Release the run after a failure so the next ``charte retention run`` resumes it at once."""
    now = aware(clock())
    with transaction(factory) as session:
        session.execute(update(RetentionRunRecord).where(RetentionRunRecord.id == run.id,
                                                         RetentionRunRecord.owner == run.owner)
                        .values(status="interrupted", lease_until=now, error=error[:500]))


@dataclass(frozen=True)
class RunSummary:
    """One retention run as the dashboard lists it."""

    id: int
    as_of: datetime
    status: str
    actor: str
    systems: tuple[str, ...]
    started_at: datetime
    finished_at: datetime | None
    totals: dict[str, int]
    error: str | None


def last_runs(session: Session, limit: int = 10) -> list[RunSummary]:
    """The newest retention runs first: when, by whom, on which systems, how many rows each count changed."""
    records = session.scalars(select(RetentionRunRecord).order_by(RetentionRunRecord.id.desc()).limit(limit))
    return [RunSummary(r.id, aware(r.as_of), r.status, r.actor, tuple(r.systems), aware(r.started_at),
                       aware(r.finished_at) if r.finished_at else None, dict(r.totals), r.error) for r in records]
