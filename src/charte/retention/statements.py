"""The SQL of one retention rule: which rows have expired, which a legal hold or a reference keeps, and the
statements of one batch.

Batches page through the primary key (keyset pagination): a batch is the key range ``(after, through]`` of the
next rows due, and its statements repeat the "due" condition, so a row that stopped being due in between (its
timestamp refreshed by the application) is never touched. Deletes reach the rows referencing the expired ones
first: rows that belong to them (``erasure: delete``, no retention of their own, no dated hold) are deleted with
them, links that erasure would cut (a field erased to NULL) are set to NULL, and any other reference keeps the row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Executable,
    and_,
    bindparam,
    column,
    delete,
    exists,
    false,
    func,
    insert,
    inspect,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import CompileError
from sqlalchemy.sql import ColumnElement, Select, TableClause, visitors
from sqlalchemy.sql.elements import BindParameter

from charte.anonymise import Keyring, MaskingStrategy
from charte.datastores.catalog import Catalog
from charte.datastores.graph import Link
from charte.datastores.strategies import build_strategy
from charte.manifest.models import Manifest
from charte.retention.rules import Boundary, Expiry, RetentionConfigError, Rule, collection_holds, field_action

LinkKind = Literal["cascade", "detach", "block"]


def bind_instant(dialect: Dialect, value: datetime) -> datetime:
    """The instant as the dialect compares it: aware for PostgreSQL, naive UTC elsewhere (MariaDB and SQLite
    columns hold no time zone, and an offset in the literal would be dropped or refused)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware if dialect.name == "postgresql" else aware.astimezone(UTC).replace(tzinfo=None)


def _compare(column: ColumnElement[Any], boundary: Boundary, name: str, dialect: Dialect) -> ColumnElement[bool]:
    # Always "<=": on SQLite dates are text, and '2016-01-01' < '2016-01-01 00:00:00' holds as text; the last
    # microsecond before an exclusive boundary compares right both as text and as a timestamp.
    last = boundary.value if boundary.inclusive else boundary.value - timedelta(microseconds=1)
    value = bindparam(name, value=bind_instant(dialect, last), type_=DateTime(timezone=dialect.name == "postgresql"))
    return column <= value


def collection_table(catalog: Catalog, name: str) -> TableClause:
    """A lightweight table of a collection's annotated columns (no reflection: the annotations name them)."""
    collection = catalog.collections[name]
    names = list(dict.fromkeys([*collection.keys, *collection.fields]))
    return table(collection.table_name, *(column(n) for n in names), schema=catalog.schemas.get(name))


@dataclass(frozen=True)
class Dependants:
    """What deleting rows of a collection does to the collections referencing them."""

    cascade: tuple[tuple[Link, Dependants], ...] = ()
    detach: tuple[Link, ...] = ()
    block: tuple[Link, ...] = ()


def link_kind(manifest: Manifest, catalog: Catalog, link: Link, *, archiving: bool) -> LinkKind:
    """How a reference to an expiring row is handled: delete the referencing row, cut the link, or keep both."""
    child = catalog.collections[link.child]
    holds = collection_holds(manifest, link.child, child)
    undated = bool(holds) and all(h.expiry is None for h in holds)
    # An undated hold (invoice lines) goes with the row it belongs to: its parent's hold has ended.
    if not archiving and child.retention is None and not child.skip and not any(h.expiry for h in holds) \
            and (child.erasure == "delete" or undated):
        return "cascade"
    spec = child.fields.get(link.child_field)
    if spec is not None and link.child_field not in child.keys and not child.skip:
        covering = [h for h in holds if not h.fields or link.child_field in h.fields]
        action = field_action(spec)
        if not covering and action is not None and action.action == "null":
            return "detach"
    return "block"


def dependants(manifest: Manifest, catalog: Catalog, name: str, *, archiving: bool,
               seen: frozenset[str] = frozenset()) -> Dependants:
    """The references to ``name`` and what a delete does with each (self-references are left to the database)."""
    cascade, detach, block = [], [], []
    for link in catalog.links_to(name):
        if link.child == name:
            continue
        kind = link_kind(manifest, catalog, link, archiving=archiving)
        if kind == "cascade" and link.child in seen | {name}:
            kind = "block"  # a cycle of references: keep rather than recurse forever
        if kind == "cascade":
            cascade.append((link, dependants(manifest, catalog, link.child, archiving=False, seen=seen | {name})))
        elif kind == "detach":
            detach.append(link)
        else:
            block.append(link)
    return Dependants(tuple(cascade), tuple(detach), tuple(block))


@dataclass
class RuleSql:
    """The conditions and statements of one rule at one instant, for one database dialect."""

    rule: Rule
    catalog: Catalog
    manifest: Manifest
    at: datetime
    dialect: Dialect
    keyring: Keyring | None = None
    _aliases: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self.table = collection_table(self.catalog, self.rule.collection)
        self.keys = [self.table.c[k] for k in self.rule.keys]
        self.strategies: dict[str, MaskingStrategy] = {}
        self._archive_columns: list[str] = []
        for name, erasure in self.rule.masks:
            strategy = build_strategy(erasure, self.keyring)
            if strategy is not None:
                self.strategies[name] = strategy
        self.tree = dependants(self.manifest, self.catalog, self.rule.collection,
                               archiving=self.rule.action == "archive_then_delete") if self.rule.deletes \
            else Dependants()

    # --- conditions -------------------------------------------------------------------------------------------

    def expired(self, at: datetime | None = None) -> ColumnElement[bool]:
        """The rule's period has run for the row."""
        boundary = self.rule.expiry.boundary(at or self.at)
        return _compare(self.table.c[self.rule.expiry.field], boundary, "expires_before", self.dialect)

    def released(self, at: datetime | None = None) -> ColumnElement[bool]:
        """No legal hold applying to the rule still keeps the row (a hold with no date keeps it for good)."""
        conditions: list[ColumnElement[bool]] = []
        for i, hold in enumerate(self.rule.holds):
            if hold.expiry is None:
                return false()
            conditions.append(self._hold_over(hold.expiry, f"hold_{i}", at or self.at))
        return and_(*conditions) if conditions else true()

    def _hold_over(self, expiry: Expiry, name: str, at: datetime) -> ColumnElement[bool]:
        # A NULL date compares false: a hold whose start is unknown keeps the row.
        return _compare(self.table.c[expiry.field], expiry.boundary(at), name, self.dialect)

    @property
    def per_value(self) -> bool:
        """Whether some masked field gets a value of its own per row (pseudonyms, truncated IPs)."""
        return any(not s.constant for s in self.strategies.values())

    def unchanged(self) -> ColumnElement[bool] | None:
        """Rows an anonymising rule has not yet changed (None for deletes); keeps re-runs from rewriting rows."""
        if self.rule.deletes:
            return None
        conditions = []
        for name, strategy in self.strategies.items():
            column = self.table.c[name]
            if strategy.constant:
                value = strategy.constant_value()
                conditions.append(column.isnot(None) if value is None else and_(column.isnot(None), column != value))
            elif strategy.name == "pseudonym":
                conditions.append(and_(column.isnot(None), not_(column.startswith("ps_", autoescape=True))))
            elif strategy.name == "truncate_ip":
                # IPv4 addresses ending in .0.0 are already truncated; IPv6 ones are checked row by row.
                done = and_(column.like("%.0.0"), not_(column.like("%:%")))
                conditions.append(and_(column.isnot(None), not_(done)))
            else:
                conditions.append(column.isnot(None))
        return or_(*conditions)

    def blocked(self) -> ColumnElement[bool] | None:
        """The row is still referenced by a row that stays (deletes only)."""
        return self._blocked(self.table, self.tree)

    def _alias(self, name: str) -> TableClause:
        self._aliases += 1
        return cast(TableClause, collection_table(self.catalog, name).alias(f"r{self._aliases}"))

    def _blocked(self, parent: TableClause, tree: Dependants) -> ColumnElement[bool] | None:
        conditions: list[ColumnElement[bool]] = []
        for link in tree.block:
            child = self._alias(link.child)
            conditions.append(exists(select(literal_column("1")).select_from(child).where(
                child.c[link.child_field] == parent.c[link.parent_field])))
        for link, sub in tree.cascade:
            child = self._alias(link.child)
            inner = self._blocked(child, sub)
            if inner is not None:
                conditions.append(exists(select(literal_column("1")).select_from(child).where(
                    child.c[link.child_field] == parent.c[link.parent_field], inner)))
        return or_(*conditions) if conditions else None

    def due(self, at: datetime | None = None) -> ColumnElement[bool]:
        """Rows this rule changes now: expired, released, not yet changed, not kept by a reference."""
        parts = [self.expired(at)]
        if self.rule.holds:
            parts.append(self.released(at))
        unchanged, blocked = self.unchanged(), self.blocked()
        if unchanged is not None:
            parts.append(unchanged)
        if blocked is not None:
            parts.append(not_(blocked))
        return and_(*parts)

    # --- batches ----------------------------------------------------------------------------------------------

    def _after(self) -> ColumnElement[bool]:
        if len(self.keys) == 1:
            return self.keys[0] > bindparam("after_0")
        return tuple_(*self.keys) > tuple_(*(bindparam(f"after_{i}") for i in range(len(self.keys))))

    def _through(self) -> ColumnElement[bool]:
        if len(self.keys) == 1:
            return self.keys[0] <= bindparam("through_0")
        return tuple_(*self.keys) <= tuple_(*(bindparam(f"through_{i}") for i in range(len(self.keys))))

    @property
    def locks(self) -> bool:
        """Whether a batch runs several statements on the same rows, which must not change in between."""
        tree = self.tree
        return self.rule.action == "archive_then_delete" or bool(tree.cascade or tree.detach)

    def select_batch(self, *, first: bool, size: int) -> Select[Any]:
        """The keys (and the values to mask row by row) of the next ``size`` rows due."""
        columns = [*self.keys]
        if self.per_value:
            columns += [self.table.c[name] for name in self.strategies if name not in self.rule.keys]
        where = [self.due()] if first else [self._after(), self.due()]
        statement = select(*columns).where(*where).order_by(*self.keys).limit(size)
        return statement.with_for_update() if self.locks else statement

    @property
    def bounded(self) -> bool:
        """Whether a batch needs only its size and last key (one key column, one statement, nothing per row)."""
        return len(self.keys) == 1 and not self.per_value and not self.locks

    def select_bounds(self, *, first: bool, size: int) -> Select[int, Any]:
        """How many rows the next batch holds and its last key, without sending the keys themselves back."""
        batch = self.select_batch(first=first, size=size).subquery()
        return select(func.count(), func.max(batch.c[self.rule.keys[0]]))

    def select_next(self, *, first: bool, bounded: bool = False) -> Select[Any]:
        """The first key still due (after ``:after_0``, up to ``:through_0`` when ``bounded``): where the next key
        range starts, past any gap."""
        where = [] if first else [self._after()]
        where += [self._through()] if bounded else []
        return select(func.min(self.keys[0])).where(*where, self.due())

    def select_any(self, *, first: bool) -> Select[Any]:
        """Whether any row is still due (after ``:after_0``). Without an order, the database may read the table
        sequentially, much cheaper than walking the key index when no row is left."""
        where = [self.due()] if first else [self._after(), self.due()]
        return select(literal_column("1")).select_from(self.table).where(*where).limit(1)

    def select_range(self, *, first: bool) -> Select[Any]:
        """The keys and values to mask row by row of the rows still due in one batch's key range."""
        columns = [*self.keys, *(self.table.c[n] for n in self.strategies if n not in self.rule.keys)]
        return select(*columns).where(self.batch_range(first=first)).order_by(*self.keys)

    def batch_range(self, *, first: bool) -> ColumnElement[bool]:
        """The rows of one batch: its key range, still due."""
        return and_(self._through(), self.due()) if first else and_(self._after(), self._through(), self.due())

    def statements(self, *, first: bool) -> list[tuple[str, str, Executable]]:
        """The set-based statements of one batch as (collection, count name, statement), in execution order."""
        rows = self.batch_range(first=first)
        t = self.table
        if not self.rule.deletes:
            values = {name: s.constant_value() for name, s in self.strategies.items()}
            return [(self.rule.collection, self.count_name, update(t).where(rows).values(values))]
        out: list[tuple[str, str, Executable]] = []
        self._dependants(t, self.tree, rows, out)
        if self.rule.action == "archive_then_delete":
            out.append((self.rule.collection, "archived", self._archive(rows)))
        out.append((self.rule.collection, "deleted", delete(t).where(rows)))
        return out

    def _dependants(self, parent: TableClause, tree: Dependants, parent_rows: ColumnElement[bool],
                    out: list[tuple[str, str, Executable]]) -> None:
        for link, sub in tree.cascade:
            child = collection_table(self.catalog, link.child)
            matches = child.c[link.child_field].in_(select(parent.c[link.parent_field]).where(parent_rows)
                                                    .scalar_subquery())
            self._dependants(child, sub, matches, out)
            out.append((link.child, "deleted_with_parent", delete(child).where(matches)))
        for link in tree.detach:
            child = collection_table(self.catalog, link.child)
            matches = child.c[link.child_field].in_(select(parent.c[link.parent_field]).where(parent_rows)
                                                    .scalar_subquery())
            out.append((link.child, "detached", update(child).where(matches).values({link.child_field: None})))

    def _archive(self, rows: ColumnElement[bool]) -> Executable:
        if self.rule.archive is None:
            raise RetentionConfigError(f"{self.rule.label}: archive_then_delete needs an archive table")
        columns = self._archive_columns
        if not columns:
            raise RetentionConfigError(f"{self.rule.label}: call prepare() before building archive statements")
        # Every column of the table is archived, annotated or not; unqualified names resolve to the table.
        target = table(self.rule.archive, *(column(c) for c in columns), schema=self.table.schema)
        names: list[ColumnElement[Any]] = [column(c) for c in columns]
        copied = select(*names).select_from(self.table).where(rows)
        return insert(target).from_select(columns, copied)

    def prepare(self, conn: Connection) -> None:
        """Read what the statements need from the live database (the archive table's columns)."""
        if self.rule.action != "archive_then_delete" or self.rule.archive is None:
            return
        inspector = inspect(conn)
        schema = self.table.schema
        if not inspector.has_table(self.rule.archive, schema=schema):
            raise RetentionConfigError(f"{self.rule.label}: archive table {self.rule.archive!r} does not exist; "
                                       "create it with the columns of " + self.table.name)
        source = [c["name"] for c in inspector.get_columns(self.table.name, schema=schema)]
        target = {c["name"] for c in inspector.get_columns(self.rule.archive, schema=schema)}
        missing = [c for c in source if c not in target]
        if missing:
            raise RetentionConfigError(f"{self.rule.label}: archive table {self.rule.archive!r} lacks column(s) "
                                       f"{', '.join(missing)}")
        self._archive_columns = source

    @property
    def count_name(self) -> str:
        """How the rule's changes are counted: ``deleted``, ``anonymised``..."""
        return {"delete": "deleted", "archive_then_delete": "deleted", "anonymise": "anonymised",
                "pseudonymise": "pseudonymised"}[self.rule.action]

    def row_update(self) -> Executable:
        """The per-row UPDATE of the values masked one by one, still only if the row is due (executemany)."""
        names = [n for n in self.strategies if n not in self.rule.keys]
        key_match = [k == bindparam(f"key_{i}") for i, k in enumerate(self.keys)]
        held = [self.released()] if self.rule.holds else []
        return update(self.table).where(*key_match, self.expired(), *held).values(
            {n: bindparam(f"new_{n}") for n in names})

    def new_values(self, row: Sequence[Any]) -> dict[str, Any] | None:
        """The parameters updating one selected row, or None when nothing changes (already masked)."""
        from charte.anonymise import CannotGeneralise, NotAPseudonym, key_id_of

        names = [n for n in self.strategies if n not in self.rule.keys]
        offset = len(self.keys)
        params: dict[str, Any] = {f"key_{i}": row[i] for i in range(offset)}
        changed = False
        for i, name in enumerate(names):
            old = row[offset + i]
            strategy = self.strategies[name]
            new: Any = old
            if old is not None:
                if strategy.name == "pseudonym" and isinstance(old, str):
                    try:
                        key_id_of(old)
                        new = old  # already a pseudonym: pseudonymising it again would break joins
                    except NotAPseudonym:
                        new = strategy.apply(old)
                else:
                    try:
                        new = strategy.apply(old)
                    except CannotGeneralise:
                        # Already generalised (a département, a month) or malformed: left as it is, never guessed.
                        new = old
            changed = changed or new != old
            params[f"new_{name}"] = new
        return params if changed else None

    # --- counting (plans) -------------------------------------------------------------------------------------

    def count(self, conn: Connection, condition: ColumnElement[bool]) -> int:
        """Rows of the collection matching ``condition``."""
        return int(conn.execute(select(func.count()).select_from(self.table).where(condition)).scalar_one())


#: Parameters given per batch or per row, shown by name in plans.
_RUNTIME = ("after_", "through_", "key_", "new_")


def key_params(key: Sequence[Any], prefix: str) -> dict[str, Any]:
    """Bind parameters ``after_0``... or ``through_0``... for a primary key value."""
    return {f"{prefix}_{i}": value for i, value in enumerate(key)}


def render(statement: Executable, dialect: Dialect, params: Mapping[str, Any] | None = None) -> str:
    """The statement in the dialect's SQL, values written in, batch bounds left as ``:after_0``/``:through_0``."""
    given = dict(params or {})

    def replace(element: Any, **_: Any) -> Any:
        if isinstance(element, BindParameter):
            if element.key in given:
                return bindparam(element.key, value=given[element.key], type_=element.type)
            if str(element.key).startswith(_RUNTIME):
                return literal_column(f":{element.key}")
        return None

    shown = visitors.replacement_traverse(cast(Any, statement), {}, replace)
    try:
        return str(shown.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except (CompileError, NotImplementedError, TypeError, ValueError):
        return str(cast(Any, statement).compile(dialect=dialect))
