"""The execution journal and the restriction register, in Charte's store.

A change on a system is journaled as *prepared* (its plan: row keys and values) before the system's transaction
commits, and *done* (plan cleared, counts kept, ledger event appended) right after. A process killed in between
leaves a prepared entry; running the request again finds it when it claims the request (:func:`claim`) and
applies the same plan to the same rows, so the result is the one an uninterrupted run gives and nothing is done
twice.

These writes happen on every request, so they are Core statements run straight on a pooled driver connection
(:mod:`charte.store.driver`): the ORM unit of work cost ~1.5 ms per request here, and SQLAlchemy's execution
layer alone several times the statements themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, delete, insert, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from charte.ledger import append_in, canonical_json
from charte.ledger.chain import Clock
from charte.store.background import PreparedWrite, prepare_write
from charte.store.datastores import DatastoreExecution, DatastoreRestriction
from charte.store.driver import DriverConnection, HotRead, HotStatement, driver_json, driver_transaction

_EXECUTIONS = cast(Table, DatastoreExecution.__table__)
_RESTRICTIONS = cast(Table, DatastoreRestriction.__table__)
_THIS = (_EXECUTIONS.c.request_id == bindparam("rid"), _EXECUTIONS.c.system == bindparam("sys"))
_ENTRY = HotRead(select(_EXECUTIONS.c.request_type, _EXECUTIONS.c.status, _EXECUTIONS.c.plan,
                        _EXECUTIONS.c.report).where(*_THIS))
_ENTRY_COLUMNS = ("request_id", "system", "request_type", "status", "plan", "report", "started_at", "finished_at")
_ADD_ENTRY = HotStatement(insert(_EXECUTIONS).values({name: bindparam(name) for name in _ENTRY_COLUMNS}))
# The report stays the one claimed with the plan: applying the plan does not change what it says.
_DONE = HotStatement(update(_EXECUTIONS).where(*_THIS, _EXECUTIONS.c.status == "prepared").values(
    status="done", plan=null(), finished_at=bindparam("now")))
_DISCARD = HotStatement(delete(_EXECUTIONS).where(*_THIS, _EXECUTIONS.c.status == "prepared"))
_REGISTERED = HotRead(select(_RESTRICTIONS.c.id).where(
    _RESTRICTIONS.c.system == bindparam("sys"), _RESTRICTIONS.c.collection == bindparam("col"),
    _RESTRICTIONS.c.row_key == bindparam("key")))
_REGISTER_COLUMNS = ("system", "collection", "row_key", "request_id", "restricted_at")
_REGISTER = HotStatement(insert(_RESTRICTIONS).values({name: bindparam(name) for name in _REGISTER_COLUMNS}))


class ExecutionInProgress(RuntimeError):
    """Another process is executing the same request on the same system right now."""


class JournalConflict(ValueError):
    """The request id was already used for another kind of request on this system."""


class StoreWithoutEngine(TypeError):
    """The session factory is not bound to an engine."""


def row_key(key: Sequence[Any]) -> str:
    """A row's primary key as canonical JSON text (the register's row identifier)."""
    return canonical_json([v if isinstance(v, int | str) or v is None else str(v) for v in key])


def _engine(store: sessionmaker[Session]) -> Engine:
    bind = store.kw.get("bind")
    if not isinstance(bind, Engine):
        raise StoreWithoutEngine("the store's session factory must be bound to an engine (session_factory(engine))")
    return bind


class JournalEntry:
    """A request's journal entry on one system."""

    def __init__(self, request_type: str, status: str, plan: Any, report: Any) -> None:
        self.request_type = request_type
        self.status = status
        self.plan: dict[str, Any] | None = driver_json(plan)
        self.report: dict[str, Any] = driver_json(report)


def journal_entry(store: sessionmaker[Session], request_id: str, system: str) -> JournalEntry | None:
    """The journal entry of a request on a system, if any."""
    with driver_transaction(_engine(store), write=False) as conn:
        rows = _ENTRY.rows(conn, {"rid": request_id, "sys": system})
    return JournalEntry(*rows[0]) if rows else None


def claim(store: sessionmaker[Session], *, request_id: str, system: str, request_type: str,
          plan: dict[str, Any], report: dict[str, Any], clock: Clock) -> JournalEntry | None:
    """Journal the plan before the system's transaction commits; None when claimed, else the entry an earlier run
    left (prepared: apply its plan; done: answer with its report)."""
    try:
        with driver_transaction(_engine(store), begin=False) as conn:  # one statement: its own transaction
            _ADD_ENTRY.run(conn, {"request_id": request_id, "system": system, "request_type": request_type,
                                  "status": "prepared", "plan": plan, "report": report, "started_at": clock(),
                                  "finished_at": None})
        return None
    except IntegrityError as exc:
        entry = journal_entry(store, request_id, system)
        if entry is None:
            # It was there a moment ago and is gone: another process discarded its plan after a rollback.
            raise ExecutionInProgress(f"request {request_id} is being executed on system {system} by another "
                                      "process; run it again when that one is finished") from exc
        return entry


def discard(store: sessionmaker[Session], request_id: str, system: str) -> None:
    """Forget a prepared plan whose transaction rolled back (the next run plans afresh)."""
    with driver_transaction(_engine(store)) as conn:
        _DISCARD.run(conn, {"rid": request_id, "sys": system})


def prepare_finish(store: sessionmaker[Session], *, request_id: str, system: str, request_type: str,
                   report: dict[str, Any], ledger_type: str, payload: Callable[[], dict[str, Any]], actor: str,
                   clock: Clock, register: Callable[[], Iterable[tuple[str, Sequence[Any]]]]) -> PreparedWrite:
    """Mark the claimed execution done, fill the restriction register and append the ledger event, all in one store
    transaction prepared on a helper thread while the system commits; the caller commits it once its own commit
    has succeeded (see :mod:`charte.store.background`). The ledger payload and the rows to register are built
    there too, by ``payload()`` and ``register()``. Nothing is written when another process finished first."""
    return prepare_write(_engine(store), lambda conn: _finish_in(
        conn, request_id=request_id, system=system, request_type=request_type, report=report,
        ledger_type=ledger_type, payload=payload(), actor=actor, clock=clock, register=register()))


def _finish_in(conn: DriverConnection, *, request_id: str, system: str, request_type: str, report: dict[str, Any],
               ledger_type: str, payload: dict[str, Any], actor: str, clock: Clock,
               register: Iterable[tuple[str, Sequence[Any]]]) -> None:
    now = clock()
    this = {"rid": request_id, "sys": system}
    if not _DONE.run(conn, {**this, "now": now}):
        if _ENTRY.rows(conn, this):
            return  # done already: its ledger event is there
        # The claim is gone (removed by hand, or a store restored from an older backup): record it now.
        _ADD_ENTRY.run(conn, {"request_id": request_id, "system": system, "request_type": request_type,
                              "status": "done", "plan": None, "report": report, "started_at": now,
                              "finished_at": now})
    _register(conn, system, request_id, register, now)
    # Counts, names and dates as text: a payload without floats (see plain_json).
    append_in(conn, ledger_type, payload, actor=actor, clock=clock, plain=True)  # no subject: see migration 0011


def record(store: sessionmaker[Session], *, ledger_type: str, payload: dict[str, Any], actor: str,
           clock: Clock) -> None:
    """Append a ledger event for a request that changed nothing (access, portability); ``payload`` holds no floats
    (see :func:`charte.ledger.chain.plain_json`).

    Events of executions carry their request id in the payload and no subject of their own (see migration 0011).
    """
    with driver_transaction(_engine(store)) as conn:
        append_in(conn, ledger_type, payload, actor=actor, clock=clock, plain=True)  # no subject: see migration 0011


def _register(conn: DriverConnection, system: str, request_id: str, rows: Iterable[tuple[str, Sequence[Any]]],
              now: datetime) -> None:
    # A restriction covers the subject's rows (tens, not millions): one indexed lookup per row is enough.
    wanted = sorted({(collection, row_key(key)) for collection, key in rows})
    fresh = [{"system": system, "collection": c, "row_key": k, "request_id": request_id, "restricted_at": now}
             for c, k in wanted if not _REGISTERED.rows(conn, {"sys": system, "col": c, "key": k})]
    if fresh:
        _REGISTER.run_many(conn, fresh)


def is_restricted(session: Session, system: str, collection: str, key: Sequence[Any]) -> bool:
    """Whether a row is in the restriction register (for applications that consult it before processing)."""
    return session.scalars(select(DatastoreRestriction.id).where(
        DatastoreRestriction.system == system, DatastoreRestriction.collection == collection,
        DatastoreRestriction.row_key == row_key(key))).first() is not None


def restricted_rows(session: Session, system: str, collection: str) -> set[str]:
    """Row keys (canonical JSON) of a collection whose processing is restricted."""
    return set(session.scalars(select(DatastoreRestriction.row_key).where(
        DatastoreRestriction.system == system, DatastoreRestriction.collection == collection)))


def lift_restriction(session: Session, request_id: str) -> int:
    """Remove the register entries a restriction request made (when the restriction ends, Art. 18(3))."""
    result = session.execute(delete(DatastoreRestriction).where(DatastoreRestriction.request_id == request_id))
    return int(getattr(result, "rowcount", 0) or 0)
