"""The SQL a request runs on one system: find the subject's rows, then plan and apply the changes.

Reads are one batched ``IN (...)`` query per collection (see :mod:`charte.datastores.graph`). Changes are planned
first as plain data (:class:`Operation`: which rows, which values) so that the plan can be journaled and, after
a crash, applied again to the same rows with the same values; then applied set-based: one ``UPDATE`` or
``DELETE ... WHERE key IN (...)`` per collection, row by row only for values that differ per row (pseudonyms,
generalisations).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from operator import itemgetter
from typing import Any, Literal, cast

from sqlalchemy.engine import Dialect

from charte.anonymise import CannotGeneralise, Keyring, MaskingStrategy
from charte.anonymise.generalise import date_of
from charte.datastores.annotations import Collection, DataField, Erasure, LegalHold
from charte.datastores.catalog import Catalog
from charte.datastores.graph import Edge, Link, Step, TraversalPlan, children_first
from charte.datastores.report import CollectionReport, Kept, RequestType, Statement, json_value
from charte.datastores.sql import (
    Dialected,
    Sql,
    TraversalPart,
    fetch,
    fetch_many,
    render,
    run_all,
    run_many,
)
from charte.datastores.strategies import build_strategy
from charte.manifest.durations import Duration
from charte.manifest.models import Manifest, tr
from charte.store.driver import Channel

#: Values per ``IN (...)`` list: below SQLite's historical 999-parameter limit, and a size every planner handles.
CHUNK = 900
_CONSTANT_ACTIONS = frozenset({"null", "mask", "keep"})
_CONSTANT_FIDES = frozenset({"null_rewrite", "string_rewrite"})
_FINANCIAL_YEAR_STARTS = frozenset({"end_of_financial_year", "end_of_year"})

Key = tuple[Any, ...]


class MissingPrimaryKey(ValueError):
    """A collection must be changed but its annotations name no primary key to address its rows."""


class RectificationRefused(ValueError):
    """The requested change cannot be made (unknown field, or a key that links rows together)."""


def chunks(values: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    """``values`` in slices of at most ``size`` (``values`` itself when it fits: most lists do)."""
    if len(values) <= size:
        return [values] if values else []
    return [values[start:start + size] for start in range(0, len(values), size)]


@dataclass
class Found:
    """The rows of one collection that belong to the subject (only the columns the request needs)."""

    columns: tuple[str, ...]
    rows: list[Sequence[Any]] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {name: i for i, name in enumerate(self.columns)}

    def values(self, column: str) -> list[Any]:
        """Distinct non-null values of ``column``."""
        i = self.index[column]
        return list(dict.fromkeys(row[i] for row in self.rows if row[i] is not None))

    def keyed(self, keys: Sequence[str]) -> dict[Key, Sequence[Any]]:
        """Rows by primary key."""
        if len(keys) == 1:
            # Most keys are one column: building the tuple inline saves a call per row.
            at = self.index[keys[0]]
            return {(row[at],): row for row in self.rows}
        key_of = self.key_of(keys)
        return {key_of(row): row for row in self.rows}

    def key_of(self, keys: Sequence[str]) -> Callable[[Sequence[Any]], Key]:
        """A function giving a row's key (the values of ``keys``) as a tuple."""
        if len(keys) == 1:
            at = self.index[keys[0]]
            return lambda row: (row[at],)
        return cast(Callable[[Sequence[Any]], Key], itemgetter(*[self.index[k] for k in keys]))

    def get(self, row: Sequence[Any], column: str) -> Any:
        """The value of ``column`` in ``row``."""
        return row[self.index[column]]


@dataclass
class Operation:
    """One planned change: rows (by primary key) of a collection and what happens to them."""

    kind: Literal["update", "update_rows", "delete", "register"]
    collection: str
    keys: list[Key]
    values: dict[str, Any] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The operation as JSON for the journal (empty members left out: most operations are deletions)."""
        data: dict[str, Any] = {"kind": self.kind, "collection": self.collection, "keys": _json_lists(self.keys)}
        if self.values:
            data["values"] = {k: json_value(v) for k, v in self.values.items()}
        if self.fields:
            data["fields"] = self.fields
        if self.rows:
            data["rows"] = _json_lists(self.rows)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Operation:
        """Rebuild an operation from the journal (also as earlier versions wrote it, with every member)."""
        return cls(data["kind"], data["collection"], [tuple(k) for k in data["keys"]], dict(data.get("values", {})),
                   list(data.get("fields", [])), [list(r) for r in data.get("rows", [])])


#: Types :func:`json_value` gives back unchanged (keys are mostly integers or text: nothing to convert).
_JSON_NATIVE = frozenset({type(None), bool, int, float, str})


def _json_lists(lists: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Keys or rows as JSON lists."""
    if not lists:
        return []
    if {type(v) for values in lists for v in values} <= _JSON_NATIVE:
        return list(map(list, lists))
    return [[json_value(v) for v in values] for values in lists]


# --- reading --------------------------------------------------------------------------------------------------


def needed_columns(catalog: Catalog, plan: TraversalPlan, name: str, request_type: RequestType) -> tuple[str, ...]:
    """The columns a request reads from ``name``: keys, links to follow, and what the request itself needs."""

    def build() -> tuple[str, ...]:
        collection = catalog.collections[name]
        wanted = [*collection.keys, *(e.source_field for e in plan.outgoing(name))]
        if request_type in ("access", "portability"):
            wanted += list(collection.fields)
        elif request_type == "erasure":
            wanted += [f for f, spec in collection.fields.items() if spec.references]
            wanted += [f for f, spec in collection.fields.items()
                       if _action(spec) is not None and not _is_constant(_action(spec))]
            holds = [collection.legal_hold, *(s.legal_hold for s in collection.fields.values())]
            wanted += [h.since for h in holds if h is not None and h.since]
        if not wanted:
            # No key and no link out (a rectification or restriction of a collection without primary key): read
            # the fields that find its rows, so they are counted and planning says the key is missing.
            step = next(s for s in plan.steps if s.collection == name)
            wanted = [f for f, _ in step.identities] + [e.target_field for e in step.incoming]
        return tuple(dict.fromkeys(wanted))

    # Plans live as long as their catalog: their identity is a cheap key (hashing a plan is not).
    return catalog.cached(("columns", id(plan), name, request_type), build)


def sql_for(catalog: Catalog, conn: Channel) -> Dialected:
    """The statement builder of this system's dialect (built once)."""
    dialect = conn.dialect
    return catalog.cached(("sql", dialect.name, dialect.paramstyle), lambda: Dialected(dialect))


def _conditions(step_identities: Sequence[tuple[str, str]], incoming: Sequence[Edge], found: Mapping[str, Found],
                identity: Mapping[str, list[str]]) -> dict[str, list[Any]]:
    conditions: dict[str, list[Any]] = {}
    for field_name, kind in step_identities:
        conditions.setdefault(field_name, []).extend(identity.get(kind, []))
    for edge in incoming:
        source = found.get(edge.source)
        if source is not None and source.rows:
            conditions.setdefault(edge.target_field, []).extend(source.values(edge.source_field))
    return {f: list(dict.fromkeys(v)) for f, v in conditions.items() if v}


def waves(plan: TraversalPlan) -> list[list[Step]]:
    """The plan's steps in groups whose queries do not depend on each other (each group is one round trip)."""
    groups: list[list[Step]] = []
    for step in plan.steps:
        current = groups[-1] if groups else None
        if current is not None and not ({e.source for e in step.incoming} & {s.collection for s in current}):
            current.append(step)
        else:
            groups.append([step])
    return groups


def traverse(conn: Channel, catalog: Catalog, plan: TraversalPlan, identity: Mapping[str, list[str]],
             request_type: RequestType, *, lock: bool = False,
             trace: list[Statement] | None = None) -> dict[str, Found]:
    """The subject's rows in every reached collection: one batched query per collection, hop by hop."""
    shape = _one_statement(conn.dialect, catalog, plan, identity, request_type)
    if shape is not None:
        return _traverse_at_once(conn, catalog, shape, identity, trace)
    found: dict[str, Found] = {}
    builder = sql_for(catalog, conn)
    for wave in catalog.cached(("waves", id(plan)), lambda: waves(plan)):
        queries: list[tuple[str, Sql, list[Any]]] = []
        for step in wave:
            collection = catalog.collections[step.collection]
            columns = needed_columns(catalog, plan, step.collection, request_type)
            conditions = _conditions(step.identities, step.incoming, found, identity)
            found[step.collection] = Found(columns)
            if not conditions:
                continue
            if sum(len(v) for v in conditions.values()) <= CHUNK:
                batches = [conditions]
            else:
                batches = [{f: list(part)} for f, values in conditions.items() for part in chunks(values)]
            for batch in batches:
                sql = builder.select(collection.table_name, catalog.schemas.get(step.collection), columns,
                                     [(f, len(v)) for f, v in batch.items()], lock)
                queries.append((step.collection, sql, [v for vs in batch.values() for v in vs]))
        results = fetch_many(conn, [(sql, values) for _, sql, values in queries])
        seen: dict[str, set[tuple[Any, ...]]] = {}
        for (name, sql, values), rows in zip(queries, results, strict=True):
            if name in seen:
                # Several batches for one collection: a row matching more than one is the same row.
                rows = [r for r in rows if r not in seen[name]]
            seen.setdefault(name, set()).update(rows)
            found[name].rows.extend(rows)
            if trace is not None:
                trace.append(Statement(render(conn.dialect, sql, values), len(rows), write=False))
    return found


#: Names the one-statement traversal gives its parts (a table with such a name reads the slower way).
PART_PREFIX = "charte_part_"
#: SQLite allows 500 terms in a compound SELECT by default.
MAX_PARTS = 400


@dataclass(frozen=True)
class _Shape:
    """A plan ready for one-statement traversal: each step's columns, identity fields (with their kinds), links."""

    plan: TraversalPlan
    request_type: RequestType
    columns: tuple[tuple[str, ...], ...]
    identities: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]
    links: tuple[tuple[tuple[str, int, str], ...], ...]
    #: Each step's collection, columns and column positions (the positions are shared by the :class:`Found` of
    #: every request, which only read them).
    founds: tuple[tuple[str, tuple[str, ...], dict[str, int]], ...] = ()


def _shape(catalog: Catalog, plan: TraversalPlan, request_type: RequestType) -> _Shape | None:
    def build() -> _Shape | None:
        if len(plan.steps) > MAX_PARTS or any(
                catalog.collections[s.collection].table_name.lower().startswith(PART_PREFIX) for s in plan.steps):
            return None
        index = {step.collection: i for i, step in enumerate(plan.steps)}
        identities = []
        for step in plan.steps:
            kinds: dict[str, list[str]] = {}
            for field_name, kind in step.identities:
                kinds.setdefault(field_name, []).append(kind)
            identities.append(tuple((f, tuple(k)) for f, k in kinds.items()))
        columns = tuple(needed_columns(catalog, plan, s.collection, request_type) for s in plan.steps)
        return _Shape(plan, request_type, columns, tuple(identities),
                      tuple(tuple((e.target_field, index[e.source], e.source_field) for e in s.incoming)
                            for s in plan.steps),
                      tuple((s.collection, c, {name: i for i, name in enumerate(c)})
                            for s, c in zip(plan.steps, columns, strict=True)))

    return catalog.cached(("shape", id(plan), request_type), build)


def _statement(catalog: Catalog, conn: Channel, shape: _Shape,
               counts: tuple[int, ...]) -> tuple[Sql, tuple[tuple[str, int], ...]]:
    """The one statement for these identity value counts, and for each of its parts, the collection it reads and
    where that collection's columns end in a result row (which starts with the part's number)."""

    def build() -> tuple[Sql, tuple[tuple[str, int], ...]]:
        steps: list[int] = []
        parts: list[TraversalPart] = []
        at = iter(counts)
        for i, step in enumerate(shape.plan.steps):
            identities = tuple((f, n) for (f, _), n in zip(shape.identities[i], at, strict=False) if n)
            links = tuple((target, steps.index(source), source_field) for target, source, source_field
                          in shape.links[i] if source in steps)
            if not identities and not links:
                continue  # nothing leads to this collection for this subject: nothing to read there
            collection = catalog.collections[step.collection]
            joined = False
            if not identities and len(links) == 1:
                # Found only through one link: a join when the earlier part's column is its primary key (unique).
                _, source, source_column = links[0]
                joined = catalog.collections[shape.plan.steps[steps[source]].collection].keys == (source_column,)
            parts.append(TraversalPart(collection.table_name, catalog.schemas.get(step.collection),
                                       shape.columns[i], identities, links, joined))
            steps.append(i)
        sql = sql_for(catalog, conn).traversal(parts, PART_PREFIX) if parts else Sql("", 0, False)
        return sql, tuple((shape.plan.steps[i].collection, 1 + len(shape.columns[i])) for i in steps)

    return catalog.cached(("statement", id(shape), conn.dialect.paramstyle, counts), build)


def reads_in_one_statement(dialect: Dialect, catalog: Catalog, plan: TraversalPlan,
                           identity: Mapping[str, list[str]], request_type: RequestType) -> bool:
    """Whether :func:`traverse` reads everything in one statement there (a snapshot on its own)."""
    return _one_statement(dialect, catalog, plan, identity, request_type) is not None


def _one_statement(dialect: Dialect, catalog: Catalog, plan: TraversalPlan, identity: Mapping[str, list[str]],
                   request_type: RequestType) -> _Shape | None:
    # SQLite only: elsewhere a UNION coerces the parts' columns to common types (and PostgreSQL's pipeline already
    # makes each hop one round trip).
    if dialect.name != "sqlite" or sum(map(len, identity.values())) > CHUNK:
        return None
    return _shape(catalog, plan, request_type)


def _traverse_at_once(conn: Channel, catalog: Catalog, shape: _Shape, identity: Mapping[str, list[str]],
                      trace: list[Statement] | None) -> dict[str, Found]:
    """The whole traversal in one statement (SQLite): the hops run inside the database, on one snapshot."""
    values: list[Any] = []
    counts: list[int] = []
    for fields in shape.identities:
        for _, kinds in fields:
            given = identity[kinds[0]] if len(kinds) == 1 and kinds[0] in identity else list(
                dict.fromkeys(v for kind in kinds for v in identity.get(kind, ())))
            counts.append(len(given))
            values.extend(given)
    sql, parts = _statement(catalog, conn, shape, tuple(counts))
    found = {name: Found(columns, [], index) for name, columns, index in shape.founds}
    if not parts:
        return found
    rows = fetch(conn, sql, values)
    targets = [(found[name].rows.append, end) for name, end in parts]
    for row in rows:
        add, end = targets[row[0]]
        add(row[1:end])
    if trace is not None:
        trace.append(Statement(render(conn.dialect, sql, values), len(rows), write=False))
    return found


# --- planning -------------------------------------------------------------------------------------------------


def _action(spec: DataField) -> Erasure | None:
    """What erasure does to a field: its annotation, else NULL for personal data, else nothing."""
    if spec.erasure is not None:
        return None if spec.erasure.action == "keep" else spec.erasure
    return Erasure(action="null") if spec.personal else None


def _is_constant(erasure: Erasure | None) -> bool:
    if erasure is None:
        return True
    if erasure.action == "fides":
        return str(erasure.params.get("strategy")) in _CONSTANT_FIDES
    return erasure.action in _CONSTANT_ACTIONS


def _require_keys(collection: Collection) -> tuple[str, ...]:
    if not collection.keys:
        raise MissingPrimaryKey(f"collection {collection.name} has no primary key in its annotations: "
                                "add primary_key so its rows can be changed")
    return collection.keys


@lru_cache(maxsize=4096)
def _after(period: Duration, start: date) -> date:
    """``period.after(start)``, remembered: the rows held for one financial year all end on the same day."""
    return period.after(start)


@dataclass
class ErasureContext:
    """What planning an erasure needs besides the rows."""

    manifest: Manifest
    keyring: Keyring | None
    language: str
    strategies: dict[tuple[str, str], MaskingStrategy | None] = field(default_factory=dict)
    #: Each collection's masking, once worked out (see :func:`_masking`): shared like ``strategies``.
    masks: dict[str, _Masking] = field(default_factory=dict)
    #: Each legal hold's terms (see :func:`_hold_terms`), with the hold, manifest and language they are for.
    terms: dict[int, tuple[LegalHold, Manifest, str, tuple[Duration | None, bool, str | None, str]]] = field(
        default_factory=dict)

    def strategy(self, collection: str, spec: DataField) -> MaskingStrategy | None:
        """The masking strategy of a field (built once per request)."""
        key = (collection, spec.name)
        if key not in self.strategies:
            action = _action(spec)
            self.strategies[key] = None if action is None else build_strategy(action, self.keyring)
        return self.strategies[key]

    def kept(self, name: str, hold: LegalHold, rows: Sequence[Sequence[Any]], found: Found,
             fields: list[str]) -> Kept:
        """The report of data kept under ``hold``: until when, computed from each row's timestamp."""
        terms = self.terms.get(id(hold))
        if terms is None or terms[0] is not hold or terms[1] is not self.manifest or terms[2] != self.language:
            terms = self.terms[id(hold)] = (hold, self.manifest, self.language, _hold_terms(hold, self.manifest,
                                                                                          self.language))
        period, financial_year, reason, described = terms[3]
        ends: list[date] = []
        if period is not None and hold.since:
            at = found.index[hold.since]
            for row in rows:
                start = date_of(row[at])
                if start is None:
                    continue
                if financial_year:
                    # The accounting period runs from the end of the financial year (taken as the calendar year).
                    start = date(start.year, 12, 31)
                ends.append(_after(period, start))
        return Kept(name, len(rows), hold.purpose, reason, described, max(ends) if ends else None, fields)


def _hold_terms(hold: LegalHold, manifest: Manifest, language: str) -> tuple[Duration | None, bool, str | None, str]:
    """A legal hold's period, whether it runs from the end of the financial year, its reason and its description."""
    purpose = manifest.purposes[hold.purpose]
    retention = purpose.retention
    period = hold.period or (retention.period if retention else None)
    financial_year = retention is not None and retention.start in _FINANCIAL_YEAR_STARTS
    reason = tr(hold.reason, language) or tr(purpose.name, language)
    if financial_year and hold.since:
        described = f"{period} from the end of the financial year of {hold.since}"
    elif period and hold.since:
        described = f"{period} from {hold.since}"
    else:
        described = str(period or "")
    return period, financial_year, reason, described


@dataclass(frozen=True)
class _Referrer:
    """A reference to a collection an erasure deletes from, with what the annotations alone say about it."""

    link: Link
    child: Collection
    #: Every child row referencing the subject's rows of the parent was read through this very link.
    found_through: bool
    #: The link field is one masking the child may clear (a plain field, not held): its strategy says if it does.
    may_clear: bool


#: What an erasure does to a collection's rows, by its annotations alone (see :class:`_ErasureFacts`).
_HELD, _KEPT, _DELETED, _MASKED = "held", "kept", "deleted", "masked"


@dataclass(frozen=True)
class _Treatment:
    """What an erasure does to one collection of a plan, as far as its annotations decide."""

    name: str
    collection: Collection
    #: _HELD (a legal hold on the collection), _KEPT (erasure: keep), _DELETED or _MASKED.
    action: str
    #: The note a masked collection gets when fields of its own are held (None otherwise).
    note: str | None


@dataclass(frozen=True)
class _ErasureFacts:
    """What planning an erasure along one traversal plan needs of its collections (built once per plan)."""

    #: Each collection of the plan, in plan order, with what its annotations make an erasure do to it.
    treatments: tuple[_Treatment, ...]
    #: The collections, children before the collections they reference (the safe deletion order).
    children_first: list[str]
    #: The collections other collections reference, children first, with those references.
    referenced: tuple[tuple[str, tuple[_Referrer, ...]], ...]


def _treatment(name: str, collection: Collection) -> _Treatment:
    if collection.legal_hold is not None:
        return _Treatment(name, collection, _HELD, None)
    if collection.erasure == "keep":
        return _Treatment(name, collection, _KEPT, None)
    held = [f for f, spec in collection.fields.items() if spec.legal_hold is not None]
    if collection.erasure == "delete" and not held:
        return _Treatment(name, collection, _DELETED, None)
    note = f"masked instead of deleted: {', '.join(held)} under legal hold" if collection.erasure == "delete" else None
    return _Treatment(name, collection, _MASKED, note)


def _erasure_facts(catalog: Catalog, plan: TraversalPlan) -> _ErasureFacts:
    """The facts of ``plan`` (built on its first erasure, then shared: they depend on the annotations only)."""

    def referrer(link: Link) -> _Referrer:
        child = catalog.collections[link.child]
        step = next((s for s in plan.steps if s.collection == link.child), None)
        edge = Edge(link.parent, link.parent_field, link.child, link.child_field)
        spec = child.fields.get(link.child_field)
        return _Referrer(link, child, step is not None and edge in step.incoming and link.child != link.parent,
                         spec is not None and link.child_field not in child.keys and spec.legal_hold is None
                         and child.legal_hold is None)

    def build() -> _ErasureFacts:
        names = plan.collections
        order = children_first(names, catalog.links)
        referrers = ((n, tuple(referrer(link) for link in catalog.links_to(n))) for n in order)
        return _ErasureFacts(tuple(_treatment(n, catalog.collections[n]) for n in names), order,
                             tuple((n, found) for n, found in referrers if found))

    return catalog.cached(("erasure_facts", id(plan)), build)


def _references_survive(catalog: Catalog, referrers: Sequence[_Referrer], found: Mapping[str, Found],
                        deleting: Mapping[str, dict[Key, Sequence[Any]]],
                        masking: Mapping[str, dict[Key, Sequence[Any]]], conn: Channel, parent: str,
                        ctx: ErasureContext) -> dict[Key, str]:
    """Rows of ``parent`` that rows staying in the database still reference, with who references them."""
    protected: dict[Key, str] = {}
    parent_rows = deleting[parent]
    parent_found = found[parent]
    for referrer in referrers:
        link, child = referrer.link, referrer.child
        if referrer.found_through and len(deleting.get(link.child, ())) == len(found[link.child].rows):
            continue  # every row that could reference the parent's rows goes too (the common case: nothing stays)
        at = parent_found.index[link.parent_field]
        values = {row[at] for row in parent_rows.values()} - {None}
        if not values:
            continue
        nulls_link = referrer.may_clear and _clears(ctx, link.child, child.fields[link.child_field])
        if referrer.found_through:
            referenced = _still_referencing(found[link.child], child.keys, link.child_field,
                                            deleting.get(link.child, {}),
                                            masking.get(link.child, {}) if nulls_link else {})
        else:
            referenced = set()
            keys = _require_keys(child) if link.child in deleting or link.child in masking else child.keys
            columns = (*keys, link.child_field)
            builder = sql_for(catalog, conn)
            for part in chunks(list(values)):
                sql = builder.select(child.table_name, catalog.schemas.get(link.child), columns,
                                     [(link.child_field, len(part))], lock=True)
                for row in fetch(conn, sql, list(part)):
                    key = tuple(row[: len(keys)])
                    if key in deleting.get(link.child, {}) or (key in masking.get(link.child, {}) and nulls_link):
                        continue
                    referenced.add(row[-1])
        if referenced:
            for key, parent_row in parent_rows.items():
                if parent_row[at] in referenced and key not in protected:
                    protected[key] = link.child
    return protected


def _still_referencing(found: Found, keys: Sequence[str], field_name: str, gone: Mapping[Key, Any],
                       cleared: Mapping[Key, Any]) -> set[Any]:
    """The values of ``field_name`` in the found rows that are neither deleted (``gone``) nor have it cleared."""
    at = found.index[field_name]
    if not gone and not cleared:
        return {row[at] for row in found.rows}
    if len(keys) == 1:
        # One key column (most collections): the key is built inline rather than by a call per row.
        k = found.index[keys[0]]
        return {row[at] for row in found.rows if (row[k],) not in gone and (row[k],) not in cleared}
    key_of = found.key_of(keys) if keys else tuple
    return {row[at] for row in found.rows if key_of(row) not in gone and key_of(row) not in cleared}


def _clears(ctx: ErasureContext, name: str, spec: DataField) -> bool:
    """Whether masking collection ``name`` sets the field ``spec`` to NULL (so it stops referencing anything)."""
    strategy = ctx.strategy(name, spec)
    return strategy is not None and strategy.constant and strategy.constant_value() is None


def plan_erasure(conn: Channel, catalog: Catalog, plan: TraversalPlan, found: Mapping[str, Found],
                 ctx: ErasureContext) -> tuple[list[Operation], list[CollectionReport], list[Kept]]:
    """Operations that erase the subject's rows, children before parents, legal holds untouched."""
    facts = _erasure_facts(catalog, plan)
    reports: dict[str, CollectionReport] = {}
    kept: list[Kept] = []
    deleting: dict[str, dict[Key, Sequence[Any]]] = {}
    masking: dict[str, dict[Key, Sequence[Any]]] = {}
    for treatment in facts.treatments:
        name = treatment.name
        rows = found[name]
        count = len(rows.rows)
        report = reports[name] = CollectionReport(name, count)
        if not count:
            continue
        action = treatment.action
        if action == _DELETED:
            deleting[name] = rows.keyed(_require_keys(treatment.collection))
        elif action == _HELD:
            kept.append(ctx.kept(name, cast(LegalHold, treatment.collection.legal_hold), rows.rows, rows, []))
            report.kept = count
        elif action == _MASKED:
            if treatment.note is not None:
                report.notes.append(treatment.note)
            masking[name] = rows.keyed(_require_keys(treatment.collection))
        else:
            report.notes.append("kept: the annotations say erasure does not apply to this collection")
    for name, referrers in facts.referenced:
        if name not in deleting:
            continue
        protected = _references_survive(catalog, referrers, found, deleting, masking, conn, name, ctx)
        if protected:
            masking[name] = {k: deleting[name].pop(k) for k in protected}
            by = sorted(set(protected.values()))
            reports[name].notes.append(f"{len(protected)} row(s) masked instead of deleted: still referenced by "
                                       f"{', '.join(by)}, which stay")
    operations: list[Operation] = []
    if masking:
        for treatment in facts.treatments:
            name = treatment.name
            if masking.get(name):
                ops, held = _mask(catalog, name, found[name], masking[name], ctx)
                operations += ops
                kept += held
                reports[name].updated = len(masking[name]) if ops else 0
                reports[name].kept = len(masking[name]) if held else 0
    for name in facts.children_first:
        gone = deleting.get(name)
        if gone:
            operations.append(Operation("delete", name, list(gone)))
            reports[name].deleted = len(gone)
    if kept:
        _inherit_dates(catalog, kept)
    return operations, list(reports.values()), kept


def _inherit_dates(catalog: Catalog, kept: list[Kept]) -> None:
    """Held rows without a date of their own (invoice lines) go with the held rows they belong to (invoices)."""
    dated = {k.collection: k for k in kept if k.until is not None and not k.fields}
    for entry in kept:
        if entry.until is not None:
            continue
        parents = [dated[link.parent] for link in catalog.links if link.child == entry.collection
                   and link.parent in dated]
        if parents:
            entry.until = max(p.until for p in parents if p.until is not None)
            entry.period = f"kept with {', '.join(sorted({p.collection for p in parents}))}: {parents[0].period}"


@dataclass(frozen=True)
class _Masking:
    """How masking changes a collection's rows: fixed values, values computed per row, fields held as they are."""

    constant: dict[str, Any]
    varying: tuple[tuple[str, MaskingStrategy], ...]
    held: tuple[tuple[str, LegalHold], ...]


def _masking(catalog: Catalog, name: str, ctx: ErasureContext) -> _Masking:
    found = ctx.masks.get(name)
    if found is not None:
        return found
    collection = catalog.collections[name]
    constant: dict[str, Any] = {}
    varying: list[tuple[str, MaskingStrategy]] = []
    held: list[tuple[str, LegalHold]] = []
    for field_name, spec in collection.fields.items():
        if field_name in collection.keys:
            continue
        if spec.legal_hold is not None:
            held.append((field_name, spec.legal_hold))
            continue
        strategy = ctx.strategy(name, spec)
        if strategy is None:
            continue
        if strategy.constant:
            constant[field_name] = strategy.constant_value()
        else:
            varying.append((field_name, strategy))
    found = ctx.masks[name] = _Masking(constant, tuple(varying), tuple(held))
    return found


def _mask(catalog: Catalog, name: str, found: Found, rows: dict[Key, Sequence[Any]],
          ctx: ErasureContext) -> tuple[list[Operation], list[Kept]]:
    masking = _masking(catalog, name, ctx)
    kept = [ctx.kept(name, hold, list(rows.values()), found, [field_name]) for field_name, hold in masking.held]
    operations = []
    keys = list(rows)
    if masking.constant:
        # A copy: the operation is the request's own (the journal and the report read it).
        operations.append(Operation("update", name, keys, values=dict(masking.constant)))
    if masking.varying:
        new_rows = []
        for key, row in rows.items():
            values = []
            for field_name, strategy in masking.varying:
                try:
                    values.append(strategy.apply(found.get(row, field_name)))
                except CannotGeneralise:
                    # A value with no generalised form (malformed IP, date...) is cleared: erasure must erase.
                    values.append(None)
            new_rows.append([*key, *values])
        operations.append(Operation("update_rows", name, keys, fields=[f for f, _ in masking.varying],
                                    rows=new_rows))
    return operations, kept


def _targets(name: str, collection: Collection, change: str) -> list[str]:
    return [f for f, spec in collection.fields.items()
            if change in (f"{name}.{f}", f) or change in spec.all_categories]


def rectification_targets(catalog: Catalog, changes: Mapping[str, Any]) -> set[str]:
    """The changes (by data category, ``collection.field`` or field name) some field of this system matches."""
    return {change for change in changes for name, c in catalog.collections.items() if _targets(name, c, change)}


def plan_rectification(catalog: Catalog, plan: TraversalPlan, found: Mapping[str, Found],
                       changes: Mapping[str, Any]) -> tuple[list[Operation], list[CollectionReport]]:
    """Operations that write the corrected values wherever the subject's data is."""
    operations: list[Operation] = []
    reports = []
    for name in plan.collections:
        rows, collection = found[name], catalog.collections[name]
        report = CollectionReport(name, found=len(rows.rows))
        reports.append(report)
        values: dict[str, Any] = {}
        for change, value in changes.items():
            for field_name in _targets(name, collection, change):
                spec = collection.fields[field_name]
                if field_name in collection.keys or spec.references:
                    report.notes.append(f"{field_name} not rectified: it links rows together (key or reference)")
                elif spec.legal_hold is not None or collection.legal_hold is not None:
                    report.notes.append(f"{field_name} not rectified: kept as issued under a legal hold")
                else:
                    values[field_name] = value
        if values and rows.rows:
            keys = list(rows.keyed(_require_keys(collection)))
            operations.append(Operation("update", name, keys, values=values))
            report.updated = len(keys)
    return operations, reports


def plan_restriction(catalog: Catalog, plan: TraversalPlan,
                     found: Mapping[str, Found]) -> tuple[list[Operation], list[CollectionReport]]:
    """Operations that mark the subject's rows as restricted: the table's flag column, else Charte's register."""
    operations: list[Operation] = []
    reports = []
    for name in plan.collections:
        rows, collection = found[name], catalog.collections[name]
        report = CollectionReport(name, found=len(rows.rows))
        reports.append(report)
        if not rows.rows:
            continue
        keys = list(rows.keyed(_require_keys(collection)))
        if collection.restriction is not None:
            operations.append(Operation("update", name, keys, values={collection.restriction.column:
                                                                      collection.restriction.value}))
        else:
            operations.append(Operation("register", name, keys))
            report.notes.append("in Charte's restriction register")
        report.restricted = len(keys)
    return operations, reports


# --- applying -------------------------------------------------------------------------------------------------


def apply(conn: Channel, catalog: Catalog, operations: Sequence[Operation], *,
          trace: list[Statement] | None = None) -> None:
    """Run the operations in order inside the caller's transaction; with ``trace``, only render them."""
    builder = sql_for(catalog, conn)
    pending: list[tuple[Sql, Sequence[Any]]] = []
    for op in operations:
        if op.kind == "register":
            continue
        collection = catalog.collections[op.collection]
        keys = _require_keys(collection)
        table, schema = collection.table_name, catalog.schemas.get(op.collection)
        if op.kind == "update_rows":
            sql = builder.update_row(table, schema, op.fields, keys)
            width = len(keys)
            # Row values are written [key..., new values...]; the statement wants [new values..., key...].
            rows = [[*row[width:], *row[:width]] for row in op.rows]
            if trace is not None:
                trace.append(Statement(sql.text, len(rows), write=True))
            elif rows:
                run_all(conn, pending)
                pending = []
                run_many(conn, sql, rows)
            continue
        for part in chunks(op.keys):
            flat = [v for key in part for v in key]
            if op.kind == "delete":
                sql = builder.delete(table, schema, keys, len(part))
                values = flat
            else:
                sql = builder.update(table, schema, list(op.values), keys, len(part))
                values = [*op.values.values(), *flat]
            if trace is not None:
                trace.append(Statement(render(conn.dialect, sql, values), len(part), write=True))
            else:
                pending.append((sql, values))
    if pending:
        run_all(conn, pending)
