"""Hot statements and driver transactions on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, Column, DateTime, Engine, Integer, MetaData, String, Table, bindparam, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from charte.store import make_engine, make_read_engine, session_factory
from charte.store.db import store_json
from charte.store.driver import (
    HotRead,
    HotStatement,
    ThreadConnections,
    driver_instant,
    driver_json,
    driver_transaction,
)

META = MetaData()
PEOPLE = Table("hot_people", META, Column("id", Integer, primary_key=True), Column("email", String(100)),
               Column("kind", String(20)), Column("seen_at", DateTime))
SEEN = datetime(2026, 11, 26, 16, 0, 0, 123456)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def engine(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Engine]:
    """A table of three people on each database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/hot.db"
    else:
        url = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mariadb_url")
    engine = make_engine(url)
    META.create_all(engine)
    with engine.begin() as conn:
        conn.execute(PEOPLE.insert(), [{"id": 1, "email": "a@example.org", "kind": "customer", "seen_at": SEEN},
                                       {"id": 2, "email": "b@example.org", "kind": "prospect", "seen_at": SEEN},
                                       {"id": 3, "email": "c@example.org", "kind": "customer", "seen_at": None}])
    yield engine
    engine.dispose()


def test_a_hot_read_binds_constants_and_parameters_like_sqlalchemy(engine: Engine) -> None:
    statement = (select(PEOPLE.c.id, PEOPLE.c.seen_at)
                 .where(PEOPLE.c.kind == "customer", PEOPLE.c.email == bindparam("email")).order_by(PEOPLE.c.id))
    read = HotRead(statement)
    with engine.connect() as conn:
        expected = [tuple(row) for row in conn.execute(statement, {"email": "a@example.org"})]
        rows = read.rows(conn, {"email": "a@example.org"})
        assert [r[0] for r in rows] == [r[0] for r in expected] == [1]
        assert driver_instant(rows[0][1]) == expected[0][1].replace(tzinfo=UTC)  # MariaDB keeps no microseconds
        assert read.rows(conn, {"email": "b@example.org"}) == []  # a prospect: the constant is bound too
    with session_factory(engine)() as session:
        assert [r[0] for r in read.rows(session, {"email": "a@example.org"})] == [1]


def test_a_hot_read_refuses_list_valued_in_parameters(engine: Engine) -> None:
    read = HotRead(select(PEOPLE.c.id).where(PEOPLE.c.kind.in_(["customer", "prospect"])))
    with engine.connect() as conn, pytest.raises(TypeError, match="IN parameters"):
        read.rows(conn)


def test_a_missing_parameter_is_an_error_not_a_null(engine: Engine) -> None:
    read = HotRead(select(PEOPLE.c.id).where(PEOPLE.c.email == bindparam("email")))
    with engine.connect() as conn, pytest.raises(Exception, match="email"):
        read.rows(conn, {})


def test_driver_instants_are_aware_utc() -> None:
    assert driver_instant("2026-11-26 16:00:00.123456") == SEEN.replace(tzinfo=UTC)
    assert driver_instant(SEEN) == SEEN.replace(tzinfo=UTC)
    paris = datetime.fromisoformat("2026-11-26T17:00:00.123456+01:00")
    assert driver_instant(paris) == SEEN.replace(tzinfo=UTC)


def test_thread_connections_keep_one_autocommit_connection_per_thread(engine: Engine) -> None:
    connections = ThreadConnections(engine)
    first = connections.get()
    assert connections.get() is first
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(connections.get()))
    worker.start()
    worker.join()
    assert seen and seen[0] is not first
    read = HotRead(select(PEOPLE.c.email).where(PEOPLE.c.id == bindparam("id")))
    assert read.rows(first, {"id": 2}) == [("b@example.org",)]
    with engine.begin() as conn:  # a write elsewhere is seen at once: no transaction is left open
        conn.execute(PEOPLE.update().where(PEOPLE.c.id == 2).values(email="new@example.org"))
    assert read.rows(first, {"id": 2}) == [("new@example.org",)]
    connections.discard()
    assert first.closed and connections.get() is not first
    connections.close()


def test_the_read_engine_takes_no_write_lock(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/lock.db"
    writer = make_engine(url)
    META.create_all(writer)
    reader = make_read_engine(url)
    try:
        with writer.begin() as conn:  # BEGIN IMMEDIATE: the write lock is held while reading below
            conn.execute(PEOPLE.insert().values(id=9, email="z@example.org", kind="customer"))
            with reader.connect() as other:
                assert HotRead(select(PEOPLE.c.id)).rows(other) == []  # not committed yet, and no wait
    finally:
        reader.dispose()
        writer.dispose()


def test_driver_errors_come_back_as_sqlalchemy_errors(engine: Engine) -> None:
    absent = Table("hot_absent", MetaData(), Column("id", Integer))
    with engine.connect() as conn, pytest.raises((OperationalError, ProgrammingError), match="hot_absent"):
        HotRead(select(absent.c.id)).rows(conn)


NOTES = Table("hot_notes", META, Column("id", Integer, primary_key=True), Column("body", JSON),
              Column("at", DateTime(timezone=True)))


def test_driver_transactions_commit_roll_back_and_bind_like_sqlalchemy(engine: Engine) -> None:
    add = HotStatement(insert(NOTES).values(id=bindparam("id"), body=bindparam("body"), at=bindparam("at")))
    moment = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    with driver_transaction(engine) as conn:
        assert add.run(conn, {"id": 1, "body": {"kept": ["a", 1]}, "at": moment}) == 1
        add.run_many(conn, [{"id": 2, "body": [], "at": moment}, {"id": 3, "body": None, "at": moment}])
    with pytest.raises(RuntimeError), driver_transaction(engine) as conn:
        add.run(conn, {"id": 4, "body": {}, "at": moment})
        raise RuntimeError("the caller fails: nothing of this transaction stays")
    with driver_transaction(engine, commit=False) as conn:  # a dry run
        add.run(conn, {"id": 5, "body": {}, "at": moment})
    with pytest.raises(IntegrityError), driver_transaction(engine) as conn:
        add.run(conn, {"id": 1, "body": {}, "at": moment})  # the driver's error, as SQLAlchemy's type
    with engine.connect() as conn:  # SQLAlchemy reads what the driver wrote, through the columns' types
        stored = conn.execute(select(NOTES).order_by(NOTES.c.id)).all()
    assert [(r.id, r.body) for r in stored] == [(1, {"kept": ["a", 1]}), (2, []), (3, None)]
    assert {driver_instant(r.at) for r in stored} == {moment}
    read = HotRead(select(NOTES.c.body).where(NOTES.c.id == bindparam("id")))
    with driver_transaction(engine, write=False) as conn:
        assert driver_json(read.rows(conn, {"id": 1})[0][0]) == {"kept": ["a", 1]}


def test_a_forked_child_never_uses_its_parents_sqlite_connection(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/fork.db")
    META.create_all(engine)
    add = HotStatement(insert(PEOPLE).values(id=bindparam("id"), email=bindparam("email"), kind="customer"))
    try:
        with driver_transaction(engine) as conn:  # the thread now holds a connection for this engine
            parent = conn.dbapi
            add.run(conn, {"id": 1, "email": "parent@example.org"})
        reading, writing = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report, never return into pytest
            answer = b"failed"
            try:
                with driver_transaction(engine) as conn:
                    mine = conn.dbapi is not parent
                    add.run(conn, {"id": 2, "email": "child@example.org"})
                answer = b"own" if mine else b"parent's"
            finally:
                os.write(writing, answer)
                os._exit(0)
        os.close(writing)
        with os.fdopen(reading, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        assert answer == b"own"
        with driver_transaction(engine) as conn:  # the parent's connection is still its own, and usable
            assert conn.dbapi is parent
            assert HotRead(select(PEOPLE.c.email).order_by(PEOPLE.c.id)).rows(conn) == [
                ("parent@example.org",), ("child@example.org",)]
    finally:
        engine.dispose()


def test_a_held_connection_serves_one_transaction_at_a_time_per_thread(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/held.db")
    META.create_all(engine)
    try:
        with driver_transaction(engine, write=False) as outer:
            with driver_transaction(engine, write=False) as inner:  # nested: a pooled connection
                assert inner.dbapi is not outer.dbapi
            seen: list[object] = []
            worker = threading.Thread(target=lambda: seen.append(_dbapi_of_a_transaction(engine)))
            worker.start()
            worker.join()
            assert seen and seen[0] is not outer.dbapi  # another thread holds its own
        with driver_transaction(engine, write=False) as again:
            assert again.dbapi is outer.dbapi
        engine.dispose()  # closes the held connections: the next transaction opens a new one
        with driver_transaction(engine, write=False) as fresh:
            assert fresh.dbapi is not outer.dbapi
    finally:
        engine.dispose()


def _dbapi_of_a_transaction(engine: Engine) -> object:
    with driver_transaction(engine, write=False) as conn:
        return conn.dbapi


def test_a_single_write_without_begin_commits_on_its_own_and_waits_for_the_lock(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/single.db")
    META.create_all(engine)
    add = HotStatement(insert(PEOPLE).values(id=bindparam("id"), email=bindparam("email"), kind="k"))
    try:
        with driver_transaction(engine, begin=False) as conn:
            assert not conn.dbapi.in_transaction  # no BEGIN: the statement is its own transaction
            add.run(conn, {"id": 1, "email": "one@example.org"})
            assert not conn.dbapi.in_transaction
        other = sqlite3.connect(f"{tmp_path}/single.db", isolation_level=None, check_same_thread=False)
        assert other.execute("SELECT email FROM hot_people").fetchall() == [("one@example.org",)]
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock for a moment
        threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
        with driver_transaction(engine, begin=False) as conn:
            add.run(conn, {"id": 2, "email": "two@example.org"})  # waits its turn instead of failing
        assert other.execute("SELECT count(*) FROM hot_people").fetchone() == (2,)
        other.close()
        with pytest.raises(IntegrityError), driver_transaction(engine, begin=False) as conn:
            add.run(conn, {"id": 2, "email": "again@example.org"})
    finally:
        engine.dispose()


def test_a_statement_run_on_a_held_connection_leaves_no_snapshot_open(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/snapshot.db")
    META.create_all(engine)
    with engine.begin() as conn:
        conn.execute(PEOPLE.insert(), [{"id": i, "email": f"{i}@example.org", "kind": "k"} for i in range(50)])
    try:
        with driver_transaction(engine, write=False) as conn:
            HotStatement(select(PEOPLE.c.id)).run(conn)  # rows nobody reads, on the held connection's cursor
        other = sqlite3.connect(f"{tmp_path}/snapshot.db", timeout=0, isolation_level=None)
        other.execute("INSERT INTO hot_people (id, email, kind) VALUES (100, 'z@example.org', 'k')")
        busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        other.close()
        assert busy == 0  # no reader keeps the old snapshot: the whole log could be written back
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql+psycopg", "mysql+pymysql"])
def test_hot_binding_gives_the_values_sqlalchemy_gives(backend: str) -> None:
    dialect = make_url(f"{backend}://").get_dialect()()
    update = HotStatement(NOTES.update().where(NOTES.c.id == bindparam("key"), NOTES.c.id < 1000,  # a constant
                                               NOTES.c.body.is_not(None))
                          .values(body=bindparam("body"), at=bindparam("at")))
    moment = datetime(2026, 11, 26, 16, 0, 0, 5, tzinfo=UTC)
    for params in ({"key": 4, "body": {"a": [1, "é"]}, "at": moment}, {"key": 5, "body": None, "at": None},
                   {"key": 6, "body": [], "at": moment.replace(tzinfo=None), "unused": 1}):
        compiled = update._for(dialect).compiled
        expected = compiled.construct_params(dict(params))
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                expected[name] = processor(expected[name])
        sql, bound = update._bound(dialect, params)
        assert sql == compiled.string
        # Compared by repr: psycopg's JSON parameters are wrappers without equality.
        if compiled.positional:
            assert repr(list(bound)) == repr([expected[name] for name in compiled.positiontup or ()])
        else:
            assert repr({name: bound[name] for name in expected}) == repr(expected)
    with pytest.raises(Exception, match="key"):
        update._bound(dialect, {"body": {}, "at": moment})


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_store_json_reads_back_as_the_value_written(value: object) -> None:
    assert json.loads(store_json(value)) == value


def test_store_json_writes_what_the_standard_library_would_read_the_same() -> None:
    assert store_json({"b": [1, "é", None], "a": {1: True}}) == '{"b":[1,"é",null],"a":{"1":true}}'
    assert json.loads(store_json({"big": 2**80})) == {"big": 2**80}  # beyond orjson's integers: the stdlib's
    with pytest.raises(TypeError):
        store_json({"a set": {1}})  # refused by both, as before
