"""The execution journal and the restriction register, in Charte's store.

A change on a system is journaled as *prepared* (its plan: row keys and values) before the system's transaction
commits, and *done* (plan cleared, counts kept, ledger event appended) right after. A process killed in between
leaves a prepared entry; running the request again applies the same plan to the same rows, so the result is the
one an uninterrupted run gives and nothing is done twice.

These writes happen on every request, so they use Core statements on the store's engine: the ORM unit of work
costs ~1.5 ms per request here, ten times the statements themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from charte.ledger import append_in, canonical_json
from charte.ledger.chain import Clock
from charte.store.datastores import DatastoreExecution, DatastoreRestriction

_EXECUTIONS = cast(Table, DatastoreExecution.__table__)
_RESTRICTIONS = cast(Table, DatastoreRestriction.__table__)
# Built once: constructing statements costs more than running them at this size.
_THIS = (_EXECUTIONS.c.request_id == bindparam("rid"), _EXECUTIONS.c.system == bindparam("sys"))
_ENTRY = select(_EXECUTIONS.c.request_type, _EXECUTIONS.c.status, _EXECUTIONS.c.plan,
                _EXECUTIONS.c.report).where(*_THIS)
_LOCK_ENTRY = select(_EXECUTIONS.c.status).where(*_THIS).with_for_update()
_ADD_ENTRY = insert(_EXECUTIONS)
_DONE = update(_EXECUTIONS).where(*_THIS).values(status="done", plan=None, report=bindparam("new_report"),
                                                 finished_at=bindparam("now"))


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


@contextmanager
def _transaction(store: sessionmaker[Session]) -> Iterator[Connection]:
    with _engine(store).begin() as conn:
        yield conn


def append_event(conn: Connection, type: str, payload: dict[str, Any], *, actor: str, subject: str | None,
                 clock: Clock) -> int:
    """Append a ledger event in ``conn``'s transaction; return its sequence number."""
    return int(append_in(conn, type, payload, actor=actor, subject=subject, clock=clock)["seq"])


class JournalEntry:
    """A request's journal entry on one system."""

    def __init__(self, row: Any) -> None:
        self.request_type: str = row.request_type
        self.status: str = row.status
        self.plan: dict[str, Any] | None = row.plan
        self.report: dict[str, Any] = row.report


def journal_entry(store: sessionmaker[Session], request_id: str, system: str) -> JournalEntry | None:
    """The journal entry of a request on a system, if any."""
    with _engine(store).connect() as conn:
        row = conn.execute(_ENTRY, {"rid": request_id, "sys": system}).first()
    return JournalEntry(row) if row is not None else None


def prepare(store: sessionmaker[Session], *, request_id: str, system: str, request_type: str,
            plan: dict[str, Any], report: dict[str, Any], clock: Clock) -> None:
    """Record the plan before the system's transaction commits; raise if another process is on it."""
    try:
        with _transaction(store) as conn:
            conn.execute(_ADD_ENTRY, {"request_id": request_id, "system": system, "request_type": request_type,
                                      "status": "prepared", "plan": plan, "report": report, "started_at": clock(),
                                      "finished_at": None})
    except IntegrityError as exc:
        raise ExecutionInProgress(f"request {request_id} is being executed on system {system} by another "
                                  "process; run it again when that one is finished") from exc


def discard(store: sessionmaker[Session], request_id: str, system: str) -> None:
    """Forget a prepared plan whose transaction rolled back (the next run plans afresh)."""
    with _transaction(store) as conn:
        conn.execute(delete(_EXECUTIONS).where(_EXECUTIONS.c.request_id == request_id,
                                               _EXECUTIONS.c.system == system, _EXECUTIONS.c.status == "prepared"))


def finish(store: sessionmaker[Session], *, request_id: str, system: str, request_type: str,
           report: dict[str, Any], ledger_type: str, payload: dict[str, Any], actor: str, clock: Clock,
           register: Iterable[tuple[str, Sequence[Any]]] = ()) -> None:
    """Mark the execution done, fill the restriction register and append the ledger event, all at once."""
    now = clock()
    this = {"rid": request_id, "sys": system}
    with _transaction(store) as conn:
        status = conn.execute(_LOCK_ENTRY, this).scalar()
        if status == "done":
            return
        if status is None:
            conn.execute(_ADD_ENTRY, {"request_id": request_id, "system": system, "request_type": request_type,
                                      "status": "done", "plan": None, "report": report, "started_at": now,
                                      "finished_at": now})
        else:
            conn.execute(_DONE, {**this, "new_report": report, "now": now})
        _register(conn, system, request_id, register, now)
        append_event(conn, ledger_type, payload, actor=actor, subject=request_id, clock=clock)


def record(store: sessionmaker[Session], *, ledger_type: str, payload: dict[str, Any], request_id: str,
           actor: str, clock: Clock) -> None:
    """Append a ledger event for a request that changed nothing (access, portability)."""
    with _transaction(store) as conn:
        append_event(conn, ledger_type, payload, actor=actor, subject=request_id, clock=clock)


def _register(conn: Connection, system: str, request_id: str, rows: Iterable[tuple[str, Sequence[Any]]],
              now: datetime) -> None:
    wanted = {(collection, row_key(key)) for collection, key in rows}
    if not wanted:
        return
    existing: set[tuple[str, str]] = set()
    for collection in {c for c, _ in wanted}:
        keys = [k for c, k in wanted if c == collection]
        for start in range(0, len(keys), 500):
            existing |= {(collection, k) for k in conn.execute(select(_RESTRICTIONS.c.row_key).where(
                _RESTRICTIONS.c.system == system, _RESTRICTIONS.c.collection == collection,
                _RESTRICTIONS.c.row_key.in_(keys[start:start + 500]))).scalars()}
    fresh = [{"system": system, "collection": c, "row_key": k, "request_id": request_id, "restricted_at": now}
             for c, k in sorted(wanted - existing)]
    if fresh:
        conn.execute(insert(_RESTRICTIONS), fresh)


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
