"""Statements on the hot path, run on the driver: the permission check, the execution journal, the ledger.

SQLAlchemy's execution layer (caching, result objects, type processing) costs several times a small indexed
statement. The permission check runs on every request of every integration, and the execution journal and the
ledger on every data-subject request, so their statements skip that layer: they are still written as Core
statements, compiled by SQLAlchemy for the connection's dialect and bound with the columns' own bind processing
(JSON, timestamps); only the execution is direct. :func:`driver_transaction` gives such statements a transaction
of their own on a pooled driver connection, without an SQLAlchemy ``Connection`` around it.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection, Dialect, Engine, event
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from charte.store.db import Reader


@dataclass(frozen=True)
class DriverConnection:
    """A pooled driver connection inside a transaction opened by :func:`driver_transaction`."""

    dbapi: Any
    dialect: Dialect
    #: A cursor that hot statements on this connection share (a held SQLite connection's); else each opens one.
    cursor: Any = None


#: Where a statement can run straight on the driver: an SQLAlchemy connection or a driver transaction.
Channel = Connection | DriverConnection


def driver_of(channel: Channel) -> Any:
    """The driver's own connection behind ``channel`` (in its current transaction)."""
    return channel.dbapi if isinstance(channel, DriverConnection) else channel.connection.dbapi_connection


class _Held:
    """A thread's own SQLite connection for one engine (see :class:`_SqliteHolding`)."""

    __slots__ = ("__weakref__", "busy", "channel", "closed", "dbapi", "engine")

    def __init__(self, dbapi: Any, engine: Engine) -> None:
        self.dbapi = dbapi
        self.engine = weakref.ref(engine)
        # Made once: every transaction on this connection hands out the same channel, and its statements share
        # one cursor (the thread's transactions on it run one at a time).
        self.channel = DriverConnection(dbapi, engine.dialect, dbapi.cursor())
        self.busy = False
        self.closed = False

    def close(self) -> None:
        """Close the connection (now, or when the transaction using it ends)."""
        self.closed = True
        if not self.busy:
            self.dbapi.close()


class _PerThread(threading.local):
    """A thread's held connections, by engine id."""

    def __init__(self) -> None:
        self.held: dict[int, _Held] = {}


class _SqliteHolding:
    """Each thread keeps one SQLite connection per engine for driver transactions, instead of a pool round trip.

    The pool's checkout and return cost ~8 µs of Python per transaction, as much as a short transaction's own
    statements; SQLite connections are cheap and unlimited, so a thread keeping one costs a file handle. They are
    made by the engine's pool (with its connect hooks), detached from it, and closed when the engine is disposed
    or the database drops them; a forked child never uses its parent's.
    """

    def __init__(self) -> None:
        self._local = _PerThread()
        self._lock = threading.Lock()
        self._by_engine: dict[int, weakref.WeakSet[_Held]] = {}

    @staticmethod
    def suits(engine: Engine) -> bool:
        """Whether ``engine`` is an SQLite file database behind a queue pool (not an in-memory one)."""
        return engine.dialect.name == "sqlite" and isinstance(engine.pool, QueuePool)

    def take(self, engine: Engine) -> _Held | None:
        """This thread's connection for ``engine``, marked busy; None when it is already in use here, or when
        ``engine`` does not suit (see :meth:`suits`)."""
        held = self._local.held
        found = held.get(id(engine))
        if found is not None and found.engine() is engine and not found.closed:
            if found.busy:
                return None  # a transaction inside another one on the same engine takes a pooled connection
            found.busy = True
            return found
        if not self.suits(engine):
            return None
        raw = engine.raw_connection()
        raw.detach()
        found = held[id(engine)] = _Held(raw.dbapi_connection, engine)
        with self._lock:
            if id(engine) not in self._by_engine:
                event.listen(engine, "engine_disposed", self._disposed)
            self._by_engine.setdefault(id(engine), weakref.WeakSet()).add(found)
        found.busy = True
        return found

    def give_back(self, held: _Held, *, broken: bool = False) -> None:
        """The transaction is over: keep the connection for the next one, or close it."""
        held.busy = False
        if broken or held.closed:
            held.close()

    def forked(self) -> None:
        """In a forked child: forget the parent's connections (SQLite connections must not cross a fork).

        Done once here rather than by a process id check in every transaction; the objects are released as the
        interpreter releases those of the parent's other threads.
        """
        self._local = _PerThread()
        self._lock = threading.Lock()  # another thread of the parent may have held it at the fork
        self._by_engine = {key: weakref.WeakSet() for key in self._by_engine}  # listeners stay registered

    def _disposed(self, engine: Engine) -> None:
        with self._lock:
            held = list(self._by_engine.get(id(engine), ()))
        for one in held:
            one.close()


_HOLDING = _SqliteHolding()
if hasattr(os, "register_at_fork"):  # POSIX: the only systems that fork
    os.register_at_fork(after_in_child=_HOLDING.forked)


class Lent:
    """A thread's own SQLite connection, lent for one transaction that another thread runs (see
    :func:`lend_connection`)."""

    __slots__ = ("held",)

    def __init__(self, held: _Held) -> None:
        self.held = held


def lend_connection(engine: Engine) -> Lent | None:
    """This thread's own SQLite connection for ``engine``, to give :func:`driver_transaction` on another thread;
    None when there is none to lend (not an SQLite file, or in use here). The connection is this thread's again
    when that transaction ends; until then this thread's transactions on ``engine`` take pooled ones.
    """
    held = _HOLDING.take(engine)
    return Lent(held) if held is not None else None


def driver_transaction(engine: Engine, *, write: bool = True, commit: bool = True,
                       begin: bool = True, lent: Lent | None = None) -> DriverTransaction:
    """One transaction on a driver connection: committed at the end (unless ``commit`` is false, for dry runs),
    rolled back on error; driver errors leave as SQLAlchemy's :class:`~sqlalchemy.exc.DBAPIError`.

    On SQLite a writing transaction starts with ``BEGIN IMMEDIATE`` (writers queue instead of failing, as in the
    store's engine) and a reading one with a plain ``BEGIN`` (one snapshot, no lock), unless ``begin`` is false:
    a single statement is a transaction by itself (a snapshot for a read; for a write, it waits for the lock and
    commits on its own). Elsewhere the driver opens the transaction with the first statement. The connection is
    pooled, or on an SQLite file the thread's own (:class:`_SqliteHolding`), or ``lent``, one another thread lent
    (see :func:`lend_connection`); one the database dropped is thrown away.
    """
    return DriverTransaction(engine, write, commit, begin, lent)


class DriverTransaction:
    """The context manager :func:`driver_transaction` returns (a class: it runs several times per request)."""

    __slots__ = ("_begin", "_commit", "_dbapi", "_engine", "_held", "_lent", "_pooled", "_write")

    def __init__(self, engine: Engine, write: bool, commit: bool, begin: bool, lent: Lent | None = None) -> None:
        self._engine = engine
        self._lent = lent
        self._write = write
        self._commit = commit
        self._begin = begin
        self._dbapi: Any = None
        # Exactly one of these while the transaction runs: the thread's held connection, or a pooled one.
        self._held: _Held | None = None
        self._pooled: PoolProxiedConnection | None = None

    def __enter__(self) -> DriverConnection:
        engine = self._engine
        dialect = engine.dialect
        try:
            held = self._lent.held if self._lent is not None else _HOLDING.take(engine)
            if held is None:
                self._dbapi = self._pooled = engine.raw_connection()
            else:
                self._held, self._dbapi = held, held.dbapi
        except dialect.loaded_dbapi.Error as exc:
            # The pool hands the driver's own error through: the same family as every other failure here.
            raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
        if dialect.name == "sqlite" and self._begin:
            try:
                # The held connection's own cursor: the connection's execute() would make one per transaction.
                (held.channel.cursor if held is not None else self._dbapi).execute(
                    "BEGIN IMMEDIATE" if self._write else "BEGIN")
            except BaseException as exc:
                wrapped = self._abandon(exc)
                if wrapped is not None:
                    raise wrapped from exc
                raise
        return held.channel if held is not None else DriverConnection(self._dbapi, dialect)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            try:
                if self._commit:
                    self._dbapi.commit()
                else:
                    self._dbapi.rollback()
            except BaseException as failed:
                wrapped = self._abandon(failed)
                if wrapped is not None:
                    raise wrapped from failed
                raise
            self._done(None)
            return
        wrapped = self._abandon(exc)
        if wrapped is not None:
            raise wrapped from exc

    def _abandon(self, exc: BaseException) -> StatementError | None:
        """Roll back after ``exc`` (or drop a connection the database broke); the error to raise instead, if any."""
        dialect = self._engine.dialect
        error = dialect.loaded_dbapi.Error
        dbapi = self._dbapi
        broken: BaseException | None = None
        origin = exc if isinstance(exc, error) else getattr(exc, "orig", None) or exc.__cause__
        if isinstance(origin, error) and dialect.is_disconnect(origin, getattr(dbapi, "dbapi_connection", dbapi),
                                                               None):
            broken = origin
        else:
            try:
                dbapi.rollback()
            except error as failed:
                broken = failed
        self._done(broken)
        if isinstance(exc, error):
            return DBAPIError.instance("COMMIT" if self._commit else "ROLLBACK", None, exc, error, dialect=dialect)
        return None

    def _done(self, broken: BaseException | None) -> None:
        """Give the connection back (once), or throw it away when ``broken`` says the database dropped it."""
        held, self._held = self._held, None
        if held is not None:
            _HOLDING.give_back(held, broken=broken is not None)
        pooled, self._pooled = self._pooled, None
        if pooled is not None:
            if broken is not None:
                pooled.invalidate(broken if isinstance(broken, Exception) else None)
            pooled.close()


#: A column type's conversion of a Python value for the driver (JSON text, SQLite timestamps...).
_Processor = Callable[[Any], Any]


class _Compiled(NamedTuple):
    """A statement compiled for one dialect, with what binding its parameters needs."""

    compiled: SQLCompiler
    sql: str
    #: The parameter names in the driver's order, for a positional driver (else None: it takes a mapping).
    order: tuple[str, ...] | None
    #: The parameters' values in that order, taken from a mapping (positional drivers only).
    pick: Callable[[Mapping[str, Any]], Sequence[Any]] | None
    processors: dict[str, _Processor]
    #: The same processors by position in ``order``, so that binding needs no name lookups.
    positions: tuple[tuple[int, _Processor], ...]
    #: Names the caller must give, when every other parameter is a constant (else None: SQLAlchemy binds).
    required: frozenset[str] | None
    fixed: dict[str, Any]


def _picker(order: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Sequence[Any]]:
    """A function taking the values of ``order`` from a mapping, in that order, at C speed."""
    if len(order) > 1:
        return itemgetter(*order)
    if order:
        [name] = order
        return lambda values: (values[name],)  # itemgetter of one name returns the value itself
    return lambda values: ()


class HotStatement:
    """A statement run straight on the driver, with its parameters bound as SQLAlchemy would bind them.

    Rows come back as the driver gives them: SQLite returns timestamps and JSON as text (see
    :func:`driver_instant` and :func:`driver_json`).
    """

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._statement.compile(dialect=dialect)
            if not isinstance(compiled, SQLCompiler):
                raise TypeError("a hot statement must be a SELECT, INSERT, UPDATE or DELETE")
            # The SQL text must be final, so the driver keeps it prepared: no list-valued IN parameters.
            if any(bind.expanding for bind in compiled.binds.values()):
                raise TypeError("a hot statement cannot take list-valued IN parameters: write the alternatives out")
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            processors: dict[str, _Processor] = {}
            for bind, name in compiled.bind_names.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            positions = tuple((index, processors[name]) for index, name in enumerate(order or ()) if name in processors)
            required = frozenset(name for bind, name in compiled.bind_names.items() if bind.required)
            fixed = {name: bind.value for bind, name in compiled.bind_names.items()
                     if not bind.required and bind.callable is None}
            complete = len(required) + len(fixed) == len(compiled.bind_names)
            found = _Compiled(compiled, compiled.string, order, _picker(order) if order is not None else None,
                              processors, positions, required if complete else None, fixed)
            with self._lock:
                self._compiled[dialect.name] = found
        return found

    def _bound(self, dialect: Dialect, params: Mapping[str, Any] | None) -> tuple[str, Any]:
        found = self._compiled.get(dialect.name) or self._for(dialect)
        if found.required is None:
            return found.sql, self._constructed(found, params)
        if found.pick is not None:
            # Every parameter given or constant: what construct_params would do, without its generality.
            values = ({**found.fixed, **params} if found.fixed else params) if params else found.fixed
            try:
                row = found.pick(values)
            except KeyError:
                return found.sql, self._constructed(found, params)  # SQLAlchemy says which one is missing
            if found.positions:
                row = list(row)
                for index, processor in found.positions:
                    row[index] = processor(row[index])
            return found.sql, row
        if not (params or {}).keys() >= found.required:
            return found.sql, self._constructed(found, params)
        named: dict[str, Any] = {**found.fixed, **params} if params else dict(found.fixed)
        for name, processor in found.processors.items():
            if name in named:
                named[name] = processor(named[name])
        return found.sql, named

    @staticmethod
    def _constructed(found: _Compiled, params: Mapping[str, Any] | None) -> Any:
        """The parameters bound by SQLAlchemy itself (defaults, callables, the error for a missing one)."""
        values = found.compiled.construct_params(dict(params) if params else None) or {}
        for name, processor in found.processors.items():
            if name in values:
                values[name] = processor(values[name])
        return [values[name] for name in found.order] if found.order is not None else values

    def _execute(self, target: Reader | DriverConnection, params: Mapping[str, Any] | None,
                 many: Sequence[Mapping[str, Any]] | None, fetch: bool) -> tuple[list[tuple[Any, ...]], int]:
        if isinstance(target, DriverConnection):  # the common case, first
            dbapi, dialect, shared = target.dbapi, target.dialect, target.cursor
        else:
            channel = target.connection() if isinstance(target, Session) else target
            dbapi, dialect, shared = driver_of(channel), channel.dialect, None
        cursor = dbapi.cursor() if shared is None else shared
        sql = ""
        bound: Any = None
        try:
            if many is None:
                sql, bound = self._bound(dialect, params)
                cursor.execute(sql, bound)
            else:
                pairs = [self._bound(dialect, one) for one in many]
                sql, bound = pairs[0][0] if pairs else "", [b for _, b in pairs]
                if pairs:
                    cursor.executemany(sql, bound)
            rows = [tuple(row) for row in cursor.fetchall()] if fetch else []
            if not fetch and shared is not None and cursor.description is not None:
                # Read to its end: a shared cursor is not closed, and an open statement would keep its snapshot.
                cursor.fetchall()
            return rows, cursor.rowcount
        except dialect.loaded_dbapi.Error as exc:
            # The same exception types SQLAlchemy raises, so callers handle one family of errors.
            raise DBAPIError.instance(sql, bound, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
        finally:
            if shared is None:
                cursor.close()

    def rows(self, target: Reader | DriverConnection, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Every row of the statement with ``params`` bound."""
        return self._execute(target, params, None, True)[0]

    def run(self, target: Reader | DriverConnection, params: Mapping[str, Any] | None = None) -> int:
        """Run a change with ``params`` bound; the number of rows it touched."""
        return self._execute(target, params, None, False)[1]

    def run_many(self, target: Reader | DriverConnection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run a change once per set of parameters (the driver batches them)."""
        self._execute(target, None, params, False)


class HotRead(HotStatement):
    """A :class:`HotStatement` that reads (for readers of the code: it changes nothing)."""


def driver_instant(value: datetime | str) -> datetime:
    """A timestamp column's value as an aware UTC datetime, whether the driver gave a datetime or (SQLite) text."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def driver_json(value: Any) -> Any:
    """A JSON column's value as Python data, whether the driver decoded it (PostgreSQL) or gave text (SQLite)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


class ThreadConnections:
    """One long-lived connection per thread, in autocommit, for hot reads: no pool checkout per request.

    Meant for the few threads that serve hot reads inline (the event loop's, on SQLite): each holds one
    connection of ``engine`` until :meth:`discard` or :meth:`close`. The connection keeps its prepared
    statements and page cache warm, which a pool handing out a different connection each time cannot.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._all: list[Connection] = []
        self._lock = threading.Lock()

    def get(self) -> Connection:
        """This thread's connection, opened on first use."""
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    def discard(self) -> None:
        """Close this thread's connection (after an error): the next :meth:`get` opens a new one."""
        connection: Connection | None = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                self._all = [c for c in self._all if c is not connection]
            connection.close()

    def close(self) -> None:
        """Close every thread's connection (at shutdown)."""
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            connection.close()
