"""Store transactions prepared on a helper thread: committed or rolled back only when the caller says so."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from charte.store import make_engine
from charte.store.background import prepare_write
from charte.store.driver import DriverConnection, driver_transaction


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield engine
    engine.dispose()


def _bodies(engine: Engine) -> list[str]:
    # A connection of its own, outside Charte's: sees only what is committed.
    with sqlite3.connect(str(engine.url.database)) as db:
        return [row[0] for row in db.execute("SELECT body FROM notes ORDER BY id")]


class Writer:
    """Work that inserts a note, says on which thread, and signals once its statement has run."""

    def __init__(self, body: str | None = "prepared") -> None:
        self.body = body
        self.thread: int | None = None
        self.ran = threading.Event()

    def __call__(self, conn: DriverConnection) -> None:
        self.thread = threading.get_ident()
        conn.dbapi.cursor().execute("INSERT INTO notes (body) VALUES (?)", (self.body,))
        self.ran.set()


def test_statements_run_on_a_helper_and_are_committed_only_when_the_caller_says(store: Engine) -> None:
    work = Writer()
    prepared = prepare_write(store, work)
    assert work.ran.wait(10)
    assert work.thread is not None and work.thread != threading.get_ident()
    assert _bodies(store) == []  # run, not committed
    prepared.commit()
    assert _bodies(store) == ["prepared"]


def test_a_rollback_leaves_nothing_and_releases_the_write_lock(store: Engine) -> None:
    work = Writer()
    prepared = prepare_write(store, work)
    assert work.ran.wait(10)
    prepared.rollback()
    assert _bodies(store) == []
    with sqlite3.connect(str(store.url.database), timeout=0) as db:  # would fail at once if the lock were held
        db.execute("INSERT INTO notes (body) VALUES ('after')")
    assert _bodies(store) == ["after"]
    prepared.rollback()  # a second rollback changes nothing
    with pytest.raises(RuntimeError, match="already"):
        prepared.commit()


def test_a_failure_of_the_statements_is_raised_by_commit_and_rolled_back(store: Engine) -> None:
    def failing(conn: DriverConnection) -> None:
        Writer()(conn)
        raise ValueError("the ledger could not be written")

    with pytest.raises(ValueError, match="ledger"):
        prepare_write(store, failing).commit()
    assert _bodies(store) == []
    prepare_write(store, failing).rollback()  # the caller's own failure: the helper's is dropped with it
    assert _bodies(store) == []


def test_a_driver_error_comes_back_as_the_store_exception_type(store: Engine) -> None:
    with pytest.raises(IntegrityError, match="NOT NULL"):
        prepare_write(store, Writer(body=None)).commit()
    prepare_write(store, Writer("next")).commit()  # the connection is usable again
    assert _bodies(store) == ["next"]


def _helpers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "charte-store-helper"}


def test_helpers_are_reused(store: Engine) -> None:
    before = _helpers()
    threads = set()
    for n in range(20):
        work = Writer(f"note {n}")
        prepare_write(store, work).commit()
        threads.add(work.thread)
    assert len(threads) == 1, "one request at a time: one helper does every write"
    assert len(_helpers() - before) <= 1  # an idle one from an earlier test, or a single new one
    assert len(_bodies(store)) == 20


def test_a_store_in_memory_prepares_on_the_callers_thread() -> None:
    engine = make_engine("sqlite://")  # one connection per thread: a helper would see another database
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    work = Writer()
    prepared = prepare_write(engine, work)
    assert work.thread == threading.get_ident()
    prepared.commit()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM notes")).scalars().all() == ["prepared"]
    engine.dispose()


def _write_in_child(url: str) -> None:
    engine = make_engine(url)
    prepare_write(engine, Writer("from the child")).commit()
    engine.dispose()


def test_a_forked_child_gets_helpers_of_its_own(store: Engine) -> None:
    prepare_write(store, Writer("parent")).commit()  # the parent now has an idle helper, which a fork does not copy
    child = multiprocessing.get_context("fork").Process(target=_write_in_child, args=(str(store.url),))
    child.start()
    child.join(10)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0, "the child waited on a helper that only exists in its parent"
    assert _bodies(store) == ["parent", "from the child"]


class Recorder(Writer):
    """A :class:`Writer` that also keeps the driver connection it ran on."""

    def __init__(self, body: str = "prepared") -> None:
        super().__init__(body)
        self.dbapi: object = None

    def __call__(self, conn: DriverConnection) -> None:
        self.dbapi = conn.dbapi
        super().__call__(conn)


def _own_connection(engine: Engine) -> object:
    """The driver connection this thread's driver transactions on ``engine`` run on."""
    with driver_transaction(engine, write=False) as conn:
        return conn.dbapi


def test_the_helper_works_on_the_callers_own_connection_and_gives_it_back(store: Engine) -> None:
    # Another connection's write would make the caller's connection drop its page cache (see prepare_write).
    own = _own_connection(store)
    work = Recorder()
    prepared = prepare_write(store, work)
    assert work.ran.wait(10)
    assert work.thread != threading.get_ident() and work.dbapi is own
    # Lent, not shared: until the caller ends the prepared write, its own transactions take another connection.
    assert _own_connection(store) is not own
    prepared.commit()
    assert _bodies(store) == ["prepared"]
    assert _own_connection(store) is own
    rolled_back = Recorder("rolled back")
    prepare_write(store, rolled_back).rollback()
    assert rolled_back.dbapi is own and _own_connection(store) is own
    assert _bodies(store) == ["prepared"]


def test_a_connection_in_use_by_the_caller_is_not_lent(store: Engine) -> None:
    # A prepared write inside a transaction of the caller's on the same store: that connection stays the caller's.
    with driver_transaction(store, write=False) as conn:
        work = Recorder()
        prepare_write(store, work).commit()
        assert work.dbapi is not conn.dbapi
    assert _bodies(store) == ["prepared"]
