"""Reads on the hot path: a Core SELECT compiled once per database kind and run on the driver's own cursor.

SQLAlchemy's execution layer (caching, result objects, type processing) costs several times a small indexed
read. The permission check runs on every request of every integration, so its few statements skip that layer:
they are still written as Core statements, compiled by SQLAlchemy for the connection's dialect, and bound the
same way; only the execution is direct.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from charte.store.db import Reader


class HotRead:
    """A SELECT run straight on the driver; parameters must be plain values the driver takes as they are.

    Rows come back as the driver gives them: SQLite returns timestamps as text (see :func:`driver_instant`).
    """

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[SQLCompiler, tuple[str, ...] | None]] = {}
        self._lock = threading.Lock()

    def _for(self, connection: Connection) -> tuple[SQLCompiler, tuple[str, ...] | None]:
        dialect = connection.dialect
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._statement.compile(dialect=dialect)
            if not isinstance(compiled, SQLCompiler):
                raise TypeError("a hot read must be a SELECT statement")
            # The SQL text must be final, so the driver keeps it prepared: no list-valued IN parameters.
            if any(bind.expanding for bind in compiled.binds.values()):
                raise TypeError("a hot read cannot take list-valued IN parameters: write the alternatives out")
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = (compiled, order)
            with self._lock:
                self._compiled[dialect.name] = found
        return found

    def rows(self, reader: Reader, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Every row of the statement with ``params`` bound."""
        connection = reader.connection() if isinstance(reader, Session) else reader
        compiled, order = self._for(connection)
        values = compiled.construct_params(dict(params) if params else None) or {}
        bound: Any = [values[name] for name in order] if order is not None else values
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.string, bound)
            return [tuple(row) for row in cursor.fetchall()]
        except connection.dialect.loaded_dbapi.Error as exc:
            # The same exception types SQLAlchemy raises, so callers handle one family of errors.
            raise DBAPIError.instance(compiled.string, bound, exc, connection.dialect.loaded_dbapi.Error,
                                      dialect=connection.dialect) from exc
        finally:
            cursor.close()


def driver_instant(value: datetime | str) -> datetime:
    """A timestamp column's value as an aware UTC datetime, whether the driver gave a datetime or (SQLite) text."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


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
