"""Execute a data-subject request on the organisation's systems: the rights workflow's execution step.

One transaction per system. Reads lock the subject's rows when the request changes them. Changes are journaled
in Charte's store (see :mod:`charte.datastores.journal`), so running a request again after a crash finishes it
with the same result. Each system's completion is a ledger event with counts, never the data itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from charte.anonymise import Keyring, MaskingStrategy, MissingPseudonymKey
from charte.datastores.catalog import ConnectedSystem
from charte.datastores.graph import TraversalPlan
from charte.datastores.identity import normalise_identity
from charte.datastores.journal import (
    ExecutionInProgress,
    JournalConflict,
    JournalEntry,
    claim,
    discard,
    journal_entry,
    prepare_finish,
    record,
)
from charte.datastores.operations import (
    ErasureContext,
    Found,
    MissingPrimaryKey,
    Operation,
    RectificationRefused,
    apply,
    plan_erasure,
    plan_rectification,
    plan_restriction,
    reads_in_one_statement,
    rectification_targets,
    traverse,
)
from charte.datastores.report import (
    LEDGER_EVENTS,
    REQUEST_TYPES,
    CollectionReport,
    ExecutionReport,
    FieldReport,
    Kept,
    RequestType,
    Rows,
    Statement,
    SystemReport,
)
from charte.datastores.sql import StatementFailed
from charte.datastores.strategies import UnusableStrategy, needs_keyring
from charte.ledger import utcnow
from charte.ledger.chain import Clock
from charte.manifest.models import Manifest
from charte.store.background import PreparedWrite
from charte.store.driver import Channel, driver_transaction

SystemDone = Callable[[SystemReport], None]


class UnknownRequestType(ValueError):
    """The request type is not one the datastores execute."""


def _failure(exc: BaseException) -> str:
    # Driver messages may quote statements and their parameters (the subject's data): keep the first line of
    # the driver's own message only, never SQLAlchemy's "[SQL: ...] [parameters: ...]" appendix.
    origin = getattr(exc, "orig", None) or exc
    text = str(origin).strip().splitlines()[0] if str(origin).strip() else ""
    return f"{type(origin).__name__}: {text}" if text else type(origin).__name__


def execute(request_type: RequestType, identity: Mapping[str, str | Sequence[str]], *, manifest: Manifest,
            systems: Mapping[str, ConnectedSystem], store: sessionmaker[Session], request_id: str,
            changes: Mapping[str, Any] | None = None, dry_run: bool = False, keyring: Keyring | None = None,
            actor: str = "charte", clock: Clock = utcnow, on_system: SystemDone | None = None) -> ExecutionReport:
    """Run one request on every system; the report says, per system and collection, what was found and done."""
    if request_type not in REQUEST_TYPES:
        raise UnknownRequestType(f"unknown request type {request_type!r}; one of: {', '.join(REQUEST_TYPES)}")
    forms = normalise_identity(identity, region=manifest.controller.country)
    if request_type == "rectification":
        _check_changes(changes, systems)
    if request_type == "erasure" and keyring is None and _needs_keyring(systems):
        keyring = Keyring.from_env()
    report = ExecutionReport(request_id, request_type, dry_run, clock())
    for system in systems.values():
        outcome = _run(request_type, forms, system, manifest=manifest, store=store, request_id=request_id,
                       changes=dict(changes or {}), dry_run=dry_run, keyring=keyring, actor=actor, clock=clock)
        report.systems.append(outcome)
        if on_system is not None:
            on_system(outcome)
    report.finished_at = clock()
    return report


def _check_changes(changes: Mapping[str, Any] | None, systems: Mapping[str, ConnectedSystem]) -> None:
    if not changes:
        raise RectificationRefused("a rectification needs the corrected values (data category or field = value)")
    matched = set().union(*(rectification_targets(s.catalog, changes) for s in systems.values())) if systems else set()
    unknown = sorted(set(changes) - matched)
    if unknown:
        raise RectificationRefused(f"no annotated field matches {', '.join(unknown)} (give a data category such as "
                                   "user.contact.email, a field name or collection.field)")


def _needs_keyring(systems: Mapping[str, ConnectedSystem]) -> bool:
    return any(_system_needs_keyring(s) for s in systems.values())


def _system_needs_keyring(system: ConnectedSystem) -> bool:
    def build() -> bool:
        return any(spec.erasure is not None and needs_keyring(spec.erasure)
                   for c in system.catalog.collections.values() for spec in c.fields.values())

    # Asked on every erasure: the answer depends on the annotations only.
    return bool(system.catalog.cached(("needs_keyring",), build))


def _run(request_type: RequestType, forms: dict[str, list[str]], system: ConnectedSystem, *, manifest: Manifest,
         store: sessionmaker[Session], request_id: str, changes: dict[str, Any], dry_run: bool,
         keyring: Keyring | None, actor: str, clock: Clock) -> SystemReport:
    outcome = SystemReport(system.key, system.name, system.display_url, "dry_run" if dry_run else "done")
    try:
        if request_type in ("access", "portability"):
            _read(request_type, forms, system, outcome, store=store, request_id=request_id, dry_run=dry_run,
                  actor=actor, clock=clock)
        else:
            _change(request_type, forms, system, outcome, manifest=manifest, store=store, request_id=request_id,
                    changes=changes, dry_run=dry_run, keyring=keyring, actor=actor, clock=clock)
    except (SQLAlchemyError, StatementFailed, MissingPrimaryKey, UnusableStrategy, MissingPseudonymKey,
            ExecutionInProgress, JournalConflict, RectificationRefused) as exc:
        outcome.status, outcome.error = "failed", _failure(exc)
    return outcome


def _payload(request_type: RequestType, request_id: str, outcome: SystemReport, resumed: bool) -> dict[str, Any]:
    collections: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for collection in outcome.collections:
        counts = collection.counts()
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        if counts["found"]:
            collections[collection.name] = counts
    payload: dict[str, Any] = {"request_id": request_id, "request_type": request_type, "system": outcome.system,
                               "collections": collections, "totals": totals}
    if outcome.kept:
        payload["kept"] = [{"collection": k.collection, "purpose": k.purpose, "rows": k.rows, "fields": k.fields,
                            "until": k.until.isoformat() if k.until else None} for k in outcome.kept]
    if resumed:
        payload["resumed"] = True
    return payload


def _read(request_type: RequestType, forms: dict[str, list[str]], system: ConnectedSystem, outcome: SystemReport,
          *, store: sessionmaker[Session], request_id: str, dry_run: bool, actor: str, clock: Clock) -> None:
    catalog = system.catalog
    plan = catalog.plan(forms)
    trace: list[Statement] | None = [] if dry_run else None
    # One statement reads one snapshot; several need a transaction around them to see one.
    begin = not reads_in_one_statement(system.engine.dialect, catalog, plan, forms, request_type)
    with driver_transaction(system.engine, write=False, begin=begin) as conn:
        found = traverse(conn, catalog, plan, forms, request_type, trace=trace)
    for name, view in _views(system, plan, request_type, found):
        if view is None:
            continue
        fields, names, pick = view
        rows = found[name].rows
        report = CollectionReport(name, found=len(rows))
        if not dry_run:
            report.fields = list(fields)
            report.rows = Rows(names, rows, pick)
        outcome.collections.append(report)
    if trace is not None:
        outcome.statements = trace
        return
    record(store, ledger_type=LEDGER_EVENTS[request_type], payload=_payload(request_type, request_id, outcome, False),
           actor=actor, clock=clock)


_View = tuple[tuple[FieldReport, ...], tuple[str, ...], Callable[[Sequence[Any]], Sequence[Any]] | None]


def _views(system: ConnectedSystem, plan: TraversalPlan, request_type: RequestType,
           found: Mapping[str, Found]) -> tuple[tuple[str, _View | None], ...]:
    """What an access report shows of each collection: its fields (with categories and purposes), and how to pick
    their values out of a row as read; None for a collection portability shows nothing of."""

    def build() -> tuple[tuple[str, _View | None], ...]:
        views: list[tuple[str, _View | None]] = []
        for name in plan.collections:
            infos = system.catalog.fields[name]
            shown = tuple(f for f in infos if request_type != "portability" or infos[f].portable)
            if request_type == "portability" and not shown:
                views.append((name, None))
                continue
            fields = tuple(FieldReport(f, list(infos[f].categories), list(infos[f].purposes), infos[f].portable)
                           for f in shown)
            columns = found[name].columns
            views.append((name, (fields, shown, _picker([columns.index(f) for f in shown], len(columns)))))
        return tuple(views)

    # The columns read depend on the plan and the request type only, so the views do too. Field reports are
    # shared by the reports of every request: they are read, never changed.
    return system.catalog.cached(("views", id(plan), request_type), build)


def _picker(positions: list[int], width: int) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    if positions == list(range(width)):
        return None  # every column read is shown, in order: the row as read
    if len(positions) > 1:
        return itemgetter(*positions)  # one C-level call picks every shown value out of a row
    return lambda row: tuple(row[at] for at in positions)


def _plan(request_type: RequestType, conn: Channel, system: ConnectedSystem, found: dict[str, Found],
          forms: dict[str, list[str]], *, manifest: Manifest, changes: dict[str, Any],
          keyring: Keyring | None) -> tuple[list[Operation], list[CollectionReport], list[Kept]]:
    catalog = system.catalog
    plan = catalog.plan(forms)
    if request_type == "erasure":
        # Strategies that need no key depend on the annotations only: the catalog keeps them for every request.
        shared: dict[tuple[str, str], MaskingStrategy | None] = (
            catalog.cached(("strategies",), dict) if keyring is None else {})
        masks: dict[str, Any] = catalog.cached(("masks",), dict) if keyring is None else {}
        context = ErasureContext(manifest, keyring, manifest.default_language, shared, masks,
                                 catalog.cached(("hold_terms",), dict))
        return plan_erasure(conn, catalog, plan, found, context)
    if request_type == "rectification":
        ops, reports = plan_rectification(catalog, plan, found, changes)
        return ops, reports, []
    ops, reports = plan_restriction(catalog, plan, found)
    return ops, reports, []


def _change(request_type: RequestType, forms: dict[str, list[str]], system: ConnectedSystem,
            outcome: SystemReport, *, manifest: Manifest, store: sessionmaker[Session], request_id: str,
            changes: dict[str, Any], dry_run: bool, keyring: Keyring | None, actor: str, clock: Clock) -> None:
    catalog = system.catalog
    trace: list[Statement] | None = [] if dry_run else None
    claimed = consulted = committing = False
    finished: PreparedWrite | None = None
    try:
        with driver_transaction(system.engine, commit=not dry_run) as conn:
            found = traverse(conn, catalog, catalog.plan(forms), forms, request_type, lock=True, trace=trace)
            operations, outcome.collections, outcome.kept = _plan(
                request_type, conn, system, found, forms, manifest=manifest, changes=changes, keyring=keyring)
            report = outcome.journal()
            # Planned under the system's locks, claimed before anything changes: an earlier run's entry, if any,
            # wins (its plan is applied again, or its report given back).
            entry = journal_entry(store, request_id, system.key) if dry_run else claim(
                store, request_id=request_id, system=system.key, request_type=request_type,
                plan={"operations": [op.to_json() for op in operations]}, report=report, clock=clock)
            consulted = True
            claimed = entry is None and not dry_run
            if entry is not None:
                if entry.request_type != request_type:
                    raise JournalConflict(f"request id {request_id} was already executed as a "
                                          f"{entry.request_type} request on system {system.key}")
                if _answered(entry, outcome, dry_run):
                    if trace is not None:
                        outcome.statements = trace
                    return
                outcome.restore(entry.report)
                operations = [Operation.from_json(op) for op in (entry.plan or {}).get("operations", [])]
                outcome.status = "resumed" if not dry_run else "dry_run"
                report = entry.report
            apply(conn, catalog, operations, trace=trace)
            committing = not dry_run
            if committing:
                # The done mark and ledger event are written while the system commits (mostly a wait for the
                # disk), and committed only once that commit has succeeded: see charte.store.background.
                finished = prepare_finish(
                    store, request_id=request_id, system=system.key, request_type=request_type, report=report,
                    ledger_type=LEDGER_EVENTS[request_type],
                    payload=lambda: _payload(request_type, request_id, outcome, outcome.status == "resumed"),
                    actor=actor, clock=clock,
                    register=lambda: [(op.collection, key) for op in operations if op.kind == "register"
                                      for key in op.keys])
    except BaseException as exc:
        if finished is not None:
            finished.rollback()  # the system's commit failed: its done mark and ledger event go with it
        if not isinstance(exc, _REFUSALS):
            raise
        if claimed and not committing:
            # Refused before the commit, so rolled back: nothing of the plan happened; the next run plans afresh.
            # A failed commit may still have happened, and a resumed plan may already be applied: those plans are
            # kept, and the next run applies them again (which changes nothing if they are).
            discard(store, request_id, system.key)
        if not consulted:
            entry = journal_entry(store, request_id, system.key)
            if entry is not None and entry.request_type == request_type and _answered(entry, outcome, dry_run):
                return  # done earlier: the system need not even be reachable to say so
        raise
    if trace is not None:
        outcome.statements = trace
        return
    if finished is not None:
        finished.commit()


#: Failures of a change that the request's report shows (the system failed), after the journal is put right.
_REFUSALS = (SQLAlchemyError, StatementFailed, MissingPrimaryKey, UnusableStrategy, MissingPseudonymKey,
             RectificationRefused)


def _answered(entry: JournalEntry, outcome: SystemReport, dry_run: bool) -> bool:
    """Whether the journal entry is a finished execution; then ``outcome`` is its report."""
    if entry.status != "done" and entry.plan is not None:
        return False
    outcome.restore(entry.report)
    outcome.status = "already_done" if not dry_run else "dry_run"
    return True
