"""The one-statement traversal (SQLite) finds exactly the rows the hop-by-hop traversal finds, on random data.

The schema mixes every way a collection can be reached: through a parent's primary key (read by a join), by its
own identity field and a reference at once, through a column that is not a key, through one column of a composite
key, backwards from a child (``direction: to``), and through a text column holding the parent's integer keys.
"""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charte.datastores import load_systems, operations, sql
from charte.datastores.catalog import ConnectedSystem
from charte.datastores.operations import traverse
from charte.datastores.report import Statement
from charte.manifest import load_manifest
from charte.store.driver import driver_transaction

from .datastores_support import write_manifest

SCHEMA = """
CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT);
CREATE TABLE profiles (id INTEGER PRIMARY KEY, phone TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, person_id INTEGER);
CREATE TABLE items (id INTEGER PRIMARY KEY, order_ref TEXT);
CREATE TABLE notes (id INTEGER PRIMARY KEY, email TEXT, person_id INTEGER);
CREATE TABLE mentions (id INTEGER PRIMARY KEY, person_email TEXT);
CREATE TABLE tags (person_id INTEGER, tag TEXT, PRIMARY KEY (person_id, tag));
CREATE TABLE votes (id INTEGER PRIMARY KEY, tag TEXT);
CREATE INDEX ix_orders_person ON orders (person_id);
"""

ANNOTATIONS = textwrap.dedent("""\
    dataset:
      key: mixed
      collections:
        people:
          fields:
            id: {primary_key: true}
            email: {category: user.contact.email, identity: email}
        profiles:
          fields:
            id: {primary_key: true, references: {field: people.id, direction: to}}
            phone: {category: user.contact.phone_number, identity: phone_number}
        orders:
          fields:
            id: {primary_key: true}
            person_id: {references: people.id}
        items:
          fields:
            id: {primary_key: true}
            order_ref: {references: orders.id}
        notes:
          fields:
            id: {primary_key: true}
            email: {category: user.contact.email, identity: email}
            person_id: {references: people.id}
        mentions:
          fields:
            id: {primary_key: true}
            person_email: {category: user.contact.email, references: people.email}
        tags:
          fields:
            person_id: {primary_key: true, references: people.id}
            tag: {primary_key: true, category: user.content.private}
        votes:
          fields:
            id: {primary_key: true}
            tag: {references: tags.tag}
    """)

SYSTEM = textwrap.dedent("""\
    systems:
      mixed:
        name: Mixed references
        url: ${MIXED_URL}
        datasets:
          - file: datasets/mixed.yaml
    """)

EMAILS = ["a@example.com", "b@example.com", "c@example.com"]
PHONES = ["+33600000001", "+33600000002"]
#: Values a reference may hold: missing, integer keys, their text, and a text that only equals a key numerically.
LINKS = st.one_of(st.none(), st.integers(1, 4), st.sampled_from(["1", "2", "3", "03", "x"]))


def _rows(width: int, *columns: st.SearchStrategy[Any], key: int = 1) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Up to ``width`` rows whose first ``key`` values (the primary key) differ."""
    return st.lists(st.tuples(*columns), max_size=width, unique_by=lambda row: row[:key])


DATA = st.fixed_dictionaries({
    "people": _rows(4, st.integers(1, 4), st.sampled_from([*EMAILS, None])),
    "profiles": _rows(3, st.integers(1, 4), st.sampled_from([*PHONES, None])),
    "orders": _rows(6, st.integers(1, 8), LINKS),
    "items": _rows(8, st.integers(1, 12), LINKS),
    "notes": _rows(4, st.integers(1, 6), st.sampled_from([*EMAILS, None]), LINKS),
    "mentions": _rows(4, st.integers(1, 6), st.sampled_from([*EMAILS, "nobody@example.com", None])),
    "tags": _rows(5, st.integers(1, 4), st.sampled_from(["red", "blue", "2"]), key=2),
    "votes": _rows(5, st.integers(1, 6), st.sampled_from(["red", "blue", "2", 2, None])),
})
IDENTITIES = st.fixed_dictionaries({}, optional={"email": st.lists(st.sampled_from(EMAILS), min_size=1, max_size=2,
                                                                     unique=True),
                                                 "phone_number": st.lists(st.sampled_from(PHONES), min_size=1,
                                                                          max_size=2, unique=True)})


def _fill(path: Path, data: dict[str, list[tuple[Any, ...]]]) -> None:
    with sqlite3.connect(path) as db:
        for table, rows in data.items():
            db.execute(f"DELETE FROM {table}")
            if rows:
                db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)


@contextmanager
def _without_joins() -> Iterator[None]:
    """The one-statement traversal as it was before joins: every link read by ``IN (SELECT ...)``."""
    original = sql.Dialected.traversal

    def traversal(self: sql.Dialected, parts: Any, prefix: str) -> sql.Sql:
        return original(self, [sql.TraversalPart(p.table, p.schema, p.columns, p.identities, p.links)
                               for p in parts], prefix)

    with mock.patch.object(sql.Dialected, "traversal", traversal):
        yield


def _found(system: ConnectedSystem, identity: dict[str, list[str]]) -> dict[str, list[Sequence[Any]]]:
    plan = system.catalog.plan(identity)
    with driver_transaction(system.engine, write=False) as conn:
        found = traverse(conn, system.catalog, plan, identity, "access")
    return {name: sorted(f.rows, key=repr) for name, f in found.items() if f.rows}


def _statement(system: ConnectedSystem, identity: dict[str, list[str]]) -> str:
    trace: list[Statement] = []
    with driver_transaction(system.engine, write=False) as conn:
        traverse(conn, system.catalog, system.catalog.plan(identity), identity, "access", trace=trace)
    [statement] = trace
    return statement.sql


def test_the_one_statement_traversal_reads_what_the_hops_read(tmp_path: Path) -> None:
    database = tmp_path / "mixed.db"
    with sqlite3.connect(database) as db:
        db.executescript(SCHEMA)
    manifest_path = write_manifest(tmp_path / "manifest", ANNOTATIONS, SYSTEM, "datasets/mixed.yaml")
    systems = load_systems(load_manifest(manifest_path), manifest_path,
                           environ={"MIXED_URL": f"sqlite:///{database}"})
    system = systems["mixed"]

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=DATA, identity=IDENTITIES)
    def check(data: dict[str, list[tuple[Any, ...]]], identity: dict[str, list[str]]) -> None:
        if not identity:
            return
        _fill(database, data)
        at_once = _found(system, identity)
        with _without_joins():
            with_in = _found(system, identity)
        with mock.patch.object(operations, "_one_statement", lambda *args: None):
            hop_by_hop = _found(system, identity)
        assert at_once == with_in
        if not any("03" in row for rows in data.values() for row in rows):
            # Hop by hop binds the keys read as values: the text "03" in a text column then differs from 3,
            # where a comparison between two columns inside the database converts it.
            assert at_once == hop_by_hop

    try:
        check()
        # There were joins to compare: orders, items and tags are read through their parents' keys; when a phone
        # number is all there is, people through a profile's key and notes through people's. The other links
        # stay IN (SELECT ...).
        assert _statement(system, {"email": EMAILS}).count(" JOIN ") == 3
        by_phone = _statement(system, {"phone_number": PHONES})
        assert by_phone.count(" JOIN ") == 5 and "people AS charte_part_row" in by_phone
        both = _statement(system, {"email": EMAILS, "phone_number": PHONES})
        assert both.count(" JOIN ") == 3 and "id IN (SELECT id FROM charte_part_" in both
        assert "person_email IN (SELECT" in both and "tag IN (SELECT" in both and "person_id IN (SELECT" in both
    finally:
        system.engine.dispose()


def test_a_long_chain_of_references_reads_in_one_statement_within_sqlites_join_limit(tmp_path: Path) -> None:
    # 70 levels: inlining every level would join more than the 64 tables SQLite allows in one query.
    levels = 70
    database = tmp_path / "chain.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE level0 (id INTEGER PRIMARY KEY, email TEXT)")
        db.execute("INSERT INTO level0 VALUES (1, 'a@example.com'), (2, 'b@example.com')")
        for n in range(1, levels):
            db.execute(f"CREATE TABLE level{n} (id INTEGER PRIMARY KEY, up INTEGER)")
            db.executemany(f"INSERT INTO level{n} VALUES (?, ?)", [(1, 1), (2, 2), (3, 1)])
    collections = ["    level0:\n      fields:\n        id: {primary_key: true}\n"
                   "        email: {category: user.contact.email, identity: email}\n"]
    collections += [f"    level{n}:\n      fields:\n        id: {{primary_key: true}}\n"
                    f"        up: {{references: level{n - 1}.id}}\n" for n in range(1, levels)]
    annotations = "dataset:\n  key: mixed\n  collections:\n" + "".join(collections)
    manifest_path = write_manifest(tmp_path / "manifest", annotations, SYSTEM, "datasets/mixed.yaml")
    system = load_systems(load_manifest(manifest_path), manifest_path,
                          environ={"MIXED_URL": f"sqlite:///{database}"})["mixed"]
    try:
        identity = {"email": ["a@example.com"]}
        text = _statement(system, identity)
        # Every 16th level is copied once; the levels below it read the copy.
        assert "charte_part_15 AS NOT MATERIALIZED (" in text and "charte_part_16 AS (" in text
        found = _found(system, identity)
        # Subject 1's rows at level 1 are 1 and 3; below, only 1 links to them (3's id is unused as an "up").
        assert found["level0"] == [(1, "a@example.com")] and found["level1"] == [(1, 1), (3, 1)]
        assert all(found[f"level{n}"] == [(1, 1), (3, 1)] for n in range(2, levels))
        with mock.patch.object(operations, "_one_statement", lambda *args: None):
            assert _found(system, identity) == found
    finally:
        system.engine.dispose()
