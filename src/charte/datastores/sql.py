"""The few statement shapes a request runs, as SQL text for the system's dialect, executed on the raw driver.

A request runs a handful of short statements (one per collection); SQLAlchemy Core costs ~60 µs of Python per
statement where the driver itself needs ~8 µs, which would dominate the latency of a request. So the text of
each shape (per table, columns and list sizes) is built once, quoted by the dialect's own identifier preparer,
and run on the DBAPI cursor inside the connection's transaction. Dry runs show this same text, with the values
written in by the dialect's literal rendering. Identifiers come from the annotations and are quoted by the
dialect; every value is a bound parameter (hence the S608 exemptions below).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import literal
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError

from charte.store.driver import Channel, driver_of

Params = Sequence[Any] | Mapping[str, Any]


class UnsupportedParamstyle(ValueError):
    """The driver's parameter style is not one this module writes."""


class StatementFailed(RuntimeError):
    """The database refused a statement (constraint, type, lock...); ``orig`` is the driver's error.

    Statements run on the raw driver, so its errors arrive unwrapped: the functions below give them this one type
    callers can catch (with a plain ``try``: a context manager per statement is a visible share of a request).
    """

    def __init__(self, orig: BaseException) -> None:
        self.orig = orig
        super().__init__(str(orig))


def _placeholder(paramstyle: str) -> Callable[[int], str]:
    if paramstyle == "qmark":
        return lambda i: "?"
    if paramstyle in ("format", "pyformat"):
        return lambda i: "%s"
    if paramstyle == "numeric":
        return lambda i: f":{i + 1}"
    if paramstyle == "numeric_dollar":
        return lambda i: f"${i + 1}"
    if paramstyle == "named":
        return lambda i: f":p{i}"
    raise UnsupportedParamstyle(f"parameter style {paramstyle!r} is not supported")


@dataclass
class Sql:
    """SQL text with its placeholders, for one dialect."""

    text: str
    count: int
    named: bool

    def params(self, values: Sequence[Any]) -> Params:
        """Parameters in the form the driver expects."""
        if self.named:
            return {f"p{i}": v for i, v in enumerate(values)}
        return tuple(values)


@dataclass(frozen=True)
class TraversalPart:
    """One collection in a one-statement traversal: what it selects, and the conditions that find its rows.

    ``identities`` are (column, number of values) pairs; ``links`` are (column, earlier part, its column): rows
    whose ``column`` holds a value of that part's ``column``. ``joined`` says the part is found through its one
    link only, whose column is unique in the earlier part's rows (its primary key): a join then reads it.
    """

    table: str
    schema: str | None
    columns: tuple[str, ...]
    identities: tuple[tuple[str, int], ...]
    links: tuple[tuple[str, int, str], ...]
    joined: bool = False


#: The most tables an inlined traversal part may join (SQLite's own limit is 64 per statement).
INLINED_TABLES = 16


@dataclass
class Dialected:
    """Builds statement text for one dialect (cached by shape)."""

    dialect: Dialect
    _cache: dict[tuple[Any, ...], Sql] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mark = _placeholder(self.dialect.paramstyle)
        self.named = self.dialect.paramstyle == "named"
        self.quote = self.dialect.identifier_preparer.quote
        self.locks = self.dialect.name != "sqlite"  # SQLite locks the whole file: BEGIN IMMEDIATE does it

    def _table(self, name: str, schema: str | None) -> str:
        quoted = self.quote(name)
        return f"{self.dialect.identifier_preparer.quote_schema(schema)}.{quoted}" if schema else quoted

    def _marks(self, start: int, count: int) -> str:
        return ", ".join(self.mark(start + i) for i in range(count))

    def _keys(self, keys: Sequence[str], start: int, count: int) -> str:
        if len(keys) == 1:
            return f"{self.quote(keys[0])} IN ({self._marks(start, count)})"
        width = len(keys)
        tuples = ", ".join(f"({self._marks(start + i * width, width)})" for i in range(count))
        return f"({', '.join(self.quote(k) for k in keys)}) IN ({tuples})"

    def select(self, table: str, schema: str | None, columns: Sequence[str],
               conditions: Sequence[tuple[str, int]], lock: bool) -> Sql:
        """``SELECT columns FROM table WHERE f1 IN (...) OR f2 IN (...)`` [FOR UPDATE]."""
        key = ("select", table, schema, tuple(columns), tuple(conditions), lock)
        found = self._cache.get(key)
        if found is None:
            where, at = [], 0
            for column, count in conditions:
                where.append(f"{self.quote(column)} IN ({self._marks(at, count)})")
                at += count
            selected = ", ".join(self.quote(c) for c in columns)
            text = (f"SELECT {selected} FROM {self._table(table, schema)} WHERE {' OR '.join(where)}"  # noqa: S608
                    + (" FOR UPDATE" if lock and self.locks else ""))
            found = self._cache[key] = Sql(text, at, self.named)
        return found

    def traversal(self, parts: Sequence[TraversalPart], prefix: str) -> Sql:
        """Every part's rows in one statement: a CTE per part, then ``SELECT part, columns...`` of each, joined by
        ``UNION ALL`` and padded with NULLs to one width. Only for SQLite, whose columns keep each value's type."""
        key = ("traversal", tuple(parts), prefix)
        found = self._cache.get(key)
        if found is None:
            width = max(len(part.columns) for part in parts)
            ctes, selects, at = [], [], 0
            inlined = self._inlined(parts)
            for i, part in enumerate(parts):
                selected = ", ".join(self.quote(c) for c in part.columns)
                padding = ", NULL" * (width - len(part.columns))
                selects.append(f"SELECT {i}, {selected}{padding} FROM {prefix}{i}")  # noqa: S608
                name = f"{prefix}{i} AS NOT MATERIALIZED" if inlined[i] else f"{prefix}{i} AS"
                if part.joined:
                    ctes.append(f"{name} ({self._join(part, prefix)})")
                    continue
                where = []
                for column, count in part.identities:
                    where.append(f"{self.quote(column)} IN ({self._marks(at, count)})")
                    at += count
                for column, source, source_column in part.links:
                    linked = f"SELECT {self.quote(source_column)} FROM {prefix}{source}"  # noqa: S608
                    where.append(f"{self.quote(column)} IN ({linked})")
                ctes.append(f"{name} (SELECT {selected} FROM {self._table(part.table, part.schema)} "  # noqa: S608
                            f"WHERE {' OR '.join(where)})")
            text = f"WITH {', '.join(ctes)} {' UNION ALL '.join(selects)}"
            found = self._cache[key] = Sql(text, at, self.named)
        return found

    def _inlined(self, parts: Sequence[TraversalPart]) -> list[bool]:
        """Which parts each use of which repeats their query (``NOT MATERIALIZED``) instead of reading a copy.

        SQLite copies a part used more than once into a temporary table, which costs more than running again the
        few index lookups that find a subject's rows (half the statement's time on a three-level shop). An inlined
        part joins the tables of the inlined parts it reads from, and SQLite joins at most 64 tables: past
        :data:`INLINED_TABLES` a part is copied, and the parts after it read the copy as one table.
        """
        version = self.dialect.server_version_info
        if version is None or version < (3, 35):
            return [False] * len(parts)  # the hint is from SQLite 3.35
        tables: list[int] = []  # the tables each part's query joins, counting those of the inlined parts it reads
        inlined: list[bool] = []
        for part in parts:
            count = 1  # a part read through IN (SELECT ...) reads its sources in subqueries, joined on their own
            if part.joined:
                [(_, source, _)] = part.links
                count += tables[source] if inlined[source] else 1
            tables.append(count)
            inlined.append(count <= INLINED_TABLES)
        return inlined

    def _join(self, part: TraversalPart, prefix: str) -> str:
        # A join walks the earlier part's rows and looks each one up in the table's index; ``IN (SELECT ...)``
        # would first copy those values into a temporary index (a quarter of the statement on a three-level shop).
        # The earlier part's column is unique there, so each row of the table is found at most once, as with IN.
        [(column, source, source_column)] = part.links
        row = f"{prefix}row"  # the prefix is no table's: the alias cannot hide one
        selected = ", ".join(f"{row}.{self.quote(c)}" for c in part.columns)
        return (f"SELECT {selected} FROM {prefix}{source} JOIN {self._table(part.table, part.schema)} AS {row} "  # noqa: S608
                f"ON {row}.{self.quote(column)} = {prefix}{source}.{self.quote(source_column)}")

    def update(self, table: str, schema: str | None, columns: Sequence[str], keys: Sequence[str],
               count: int) -> Sql:
        """``UPDATE table SET c = ?, ... WHERE key IN (...)``."""
        key = ("update", table, schema, tuple(columns), tuple(keys), count)
        found = self._cache.get(key)
        if found is None:
            sets = ", ".join(f"{self.quote(c)} = {self.mark(i)}" for i, c in enumerate(columns))
            where = self._keys(keys, len(columns), count)
            text = f"UPDATE {self._table(table, schema)} SET {sets} WHERE {where}"  # noqa: S608
            found = self._cache[key] = Sql(text, len(columns) + count * len(keys), self.named)
        return found

    def update_row(self, table: str, schema: str | None, columns: Sequence[str], keys: Sequence[str]) -> Sql:
        """``UPDATE table SET c = ?, ... WHERE k = ? AND ...`` (run once per row, values differ)."""
        key = ("update_row", table, schema, tuple(columns), tuple(keys))
        found = self._cache.get(key)
        if found is None:
            sets = ", ".join(f"{self.quote(c)} = {self.mark(i)}" for i, c in enumerate(columns))
            where = " AND ".join(f"{self.quote(k)} = {self.mark(len(columns) + i)}" for i, k in enumerate(keys))
            text = f"UPDATE {self._table(table, schema)} SET {sets} WHERE {where}"  # noqa: S608
            found = self._cache[key] = Sql(text, len(columns) + len(keys), self.named)
        return found

    def delete(self, table: str, schema: str | None, keys: Sequence[str], count: int) -> Sql:
        """``DELETE FROM table WHERE key IN (...)``."""
        key = ("delete", table, schema, tuple(keys), count)
        found = self._cache.get(key)
        if found is None:
            text = f"DELETE FROM {self._table(table, schema)} WHERE {self._keys(keys, 0, count)}"  # noqa: S608
            found = self._cache[key] = Sql(text, count * len(keys), self.named)
        return found


def _pipeline(driver: Any) -> Any:
    # psycopg 3 can send several statements before reading any result: one network round trip for a batch.
    pipeline = getattr(driver, "pipeline", None)
    if pipeline is None:
        return None
    from psycopg import Pipeline

    return pipeline() if Pipeline.is_supported() else None


def fetch_many(conn: Channel, batch: Sequence[tuple[Sql, Sequence[Any]]]) -> list[list[tuple[Any, ...]]]:
    """Run independent queries; on PostgreSQL they travel together (one round trip), elsewhere one by one."""
    driver = driver_of(conn)
    pipeline = _pipeline(driver) if len(batch) > 1 else None
    if pipeline is None:
        # One cursor for the whole batch: this runs for every hop of every request.
        cursor = driver.cursor()
        try:
            results = []
            for sql, values in batch:
                cursor.execute(sql.text, sql.params(values))
                results.append([tuple(row) for row in cursor.fetchall()])
            return results
        except conn.dialect.loaded_dbapi.Error as exc:
            raise StatementFailed(exc) from exc
        finally:
            cursor.close()
    cursors = []
    try:
        try:
            with pipeline:
                for sql, values in batch:
                    cursor = driver.cursor()
                    cursor.execute(sql.text, sql.params(values))
                    cursors.append(cursor)
            return [[tuple(row) for row in cursor.fetchall()] for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise StatementFailed(exc) from exc


def run_all(conn: Channel, batch: Sequence[tuple[Sql, Sequence[Any]]]) -> None:
    """Run statements in order; on PostgreSQL they travel together (one round trip)."""
    if not batch:
        return
    driver = driver_of(conn)
    pipeline = _pipeline(driver) if len(batch) > 1 else None
    cursor = driver.cursor()
    try:
        try:
            with pipeline if pipeline is not None else nullcontext():
                for sql, values in batch:
                    cursor.execute(sql.text, sql.params(values))
        finally:
            cursor.close()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise StatementFailed(exc) from exc


def fetch(conn: Channel, sql: Sql, values: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run a query on the connection's driver, inside its transaction."""
    cursor = driver_of(conn).cursor()
    try:
        cursor.execute(sql.text, sql.params(values))
        rows = cursor.fetchall()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise StatementFailed(exc) from exc
    finally:
        cursor.close()
    # The drivers give tuples already (sqlite3, psycopg, PyMySQL): copy only what is not one (a driver gives all
    # its rows one type).
    return rows if not rows or type(rows[0]) is tuple else [tuple(row) for row in rows]


def run_many(conn: Channel, sql: Sql, rows: Sequence[Sequence[Any]]) -> None:
    """Run a statement once per row of values (the driver batches them)."""
    cursor = driver_of(conn).cursor()
    try:
        try:
            cursor.executemany(sql.text, [sql.params(r) for r in rows])
        finally:
            cursor.close()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise StatementFailed(exc) from exc


def _literal(dialect: Dialect, value: Any) -> str:
    if value is None:
        return "NULL"
    try:
        return str(literal(value).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except (CompileError, NotImplementedError, TypeError, ValueError):
        return "'" + str(value).replace("'", "''") + "'"


def render(dialect: Dialect, sql: Sql, values: Sequence[Any]) -> str:
    """The statement's text with its values written in, for people (dry runs)."""
    if not values:
        return sql.text
    mark = _placeholder(dialect.paramstyle)
    text, out, at = sql.text, [], 0
    for i, value in enumerate(values):
        token = mark(i)
        found = text.find(token, at)
        if found < 0:
            return sql.text
        out.append(text[at:found])
        out.append(_literal(dialect, value))
        at = found + len(token)
    out.append(text[at:])
    return "".join(out)
