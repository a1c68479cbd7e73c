"""Migrations 0009 to 0011: the ledger loses the unique index on its hashes and the index on its types, indexes
only the events with a subject, and keeps everything else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Table, inspect, text
from sqlalchemy.exc import DBAPIError

from charte import ledger
from charte.store import make_engine, migrate, session_factory, transaction
from charte.store.db import _alembic_config
from charte.store.models import LedgerEvent

BEFORE = "0008"


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store at revision 0008 whose ledger holds a few events, on each database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'charte.db'}"
    else:
        url = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mariadb_url")
    engine = make_engine(url)
    migrate(engine, BEFORE)
    append(engine, 5)
    yield engine
    engine.dispose()


def append(engine: Engine, n: int) -> None:
    """Append ``n`` events, some with a subject and some without."""
    base = datetime(2026, 11, 26, tzinfo=UTC)
    sessions = session_factory(engine)
    for i in range(n):
        with transaction(sessions) as session:
            ledger.append(session, "test.event", {"i": i, "note": f"événement {i}"}, actor="tester",
                          subject=f"subject-{i % 2}" if i % 3 else None, clock=at(base + timedelta(seconds=i)))


def at(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at ``moment``."""
    return lambda: moment


def rows(engine: Engine) -> list[tuple[Any, ...]]:
    """Every column of every event, in chain order."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT seq, recorded_at, type, actor, subject, payload, prev_hash, hash FROM ledger_events ORDER BY seq"))]


def columns(engine: Engine) -> list[tuple[str, str, bool]]:
    """Name, type and nullability of each ledger column."""
    return [(c["name"], str(c["type"]), c["nullable"]) for c in inspect(engine).get_columns("ledger_events")]


def hash_is_unique(engine: Engine) -> bool:
    """Whether a unique constraint or unique index covers ``hash``."""
    found = inspect(engine)
    return (any(u["column_names"] == ["hash"] for u in found.get_unique_constraints("ledger_events"))
            or any(i["column_names"] == ["hash"] and i["unique"] for i in found.get_indexes("ledger_events")))


def assert_append_only(engine: Engine) -> None:
    """The database refuses to change or remove events."""
    for statement in ("UPDATE ledger_events SET actor = 'mallory'", "DELETE FROM ledger_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))


def assert_verifies(engine: Engine, count: int) -> None:
    with session_factory(engine)() as session:
        result = ledger.verify(session)
    assert result.ok, result.describe()
    assert result.count == count


def test_the_upgrade_drops_the_unique_hash_and_keeps_the_ledger(engine: Engine) -> None:
    before, shape = rows(engine), columns(engine)
    assert hash_is_unique(engine)
    migrate(engine)
    assert rows(engine) == before
    assert columns(engine) == shape
    assert not hash_is_unique(engine)
    # Only the subject index stays: 0010 drops the one on type.
    assert {i["name"] for i in inspect(engine).get_indexes("ledger_events")} == {"ix_ledger_events_subject"}
    assert_verifies(engine, 5)
    assert_append_only(engine)
    append(engine, 3)
    assert rows(engine)[:5] == before
    assert_verifies(engine, 8)
    # The migrated table is what the model describes.
    ledger_only = MetaData()
    cast(Table, LedgerEvent.__table__).to_metadata(ledger_only)
    opts = {"compare_type": True, "include_name": lambda name, kind, _: kind != "table" or name == "ledger_events"}
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=opts), ledger_only) == []


def test_a_downgrade_puts_the_unique_hash_back_and_keeps_the_ledger(engine: Engine) -> None:
    before = rows(engine)
    migrate(engine)
    command.downgrade(_alembic_config(engine), BEFORE)
    assert rows(engine) == before
    assert hash_is_unique(engine)
    assert_verifies(engine, 5)
    assert_append_only(engine)
    migrate(engine)
    assert rows(engine) == before
    assert not hash_is_unique(engine)
    assert_append_only(engine)
    append(engine, 1)
    assert_verifies(engine, 6)


def test_sqlite_keeps_seq_as_the_rowid(tmp_path: Path) -> None:
    # seq INTEGER PRIMARY KEY is SQLite's rowid: appends and reads by seq stay on the table's own B-tree.
    engine = make_engine(f"sqlite:///{tmp_path / 'charte.db'}")
    try:
        migrate(engine, BEFORE)
        append(engine, 2)
        migrate(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT rowid, seq FROM ledger_events ORDER BY seq")).all() == [(1, 1), (2, 2)]
            plan = " ".join(str(r[-1]) for r in conn.execute(text(
                "EXPLAIN QUERY PLAN SELECT * FROM ledger_events WHERE seq = 2")))
            assert "INTEGER PRIMARY KEY" in plan, plan
            names = {r[0] for r in conn.execute(text(
                "SELECT name FROM sqlite_master WHERE tbl_name = 'ledger_events' OR name LIKE '%ledger_events_new%'"))}
        assert names == {"ledger_events", "ix_ledger_events_subject",
                         "ledger_events_no_update", "ledger_events_no_delete"}
    finally:
        engine.dispose()


def test_0010_drops_the_type_index_and_a_downgrade_puts_it_back(engine: Engine) -> None:
    before = rows(engine)
    migrate(engine, "0009")
    assert "ix_ledger_events_type" in {i["name"] for i in inspect(engine).get_indexes("ledger_events")}
    migrate(engine)
    assert "ix_ledger_events_type" not in {i["name"] for i in inspect(engine).get_indexes("ledger_events")}
    assert rows(engine) == before
    assert_verifies(engine, 5)
    command.downgrade(_alembic_config(engine), "0009")
    assert "ix_ledger_events_type" in {i["name"] for i in inspect(engine).get_indexes("ledger_events")}
    assert rows(engine) == before
    assert_append_only(engine)
    migrate(engine)
    append(engine, 2)
    assert_verifies(engine, 7)


def subject_index(engine: Engine) -> str:
    """How the database describes the subject index (its definition, with any WHERE)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return str(conn.execute(text(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_ledger_events_subject'")).scalar_one())
        if engine.dialect.name == "postgresql":
            return str(conn.execute(text(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_ledger_events_subject'")).scalar_one())
    [index] = [i for i in inspect(engine).get_indexes("ledger_events") if i["name"] == "ix_ledger_events_subject"]
    return str(index["column_names"])


def subject_lookup_plan(engine: Engine) -> str:
    """The plan of a subject's timeline query."""
    query = "SELECT seq FROM ledger_events WHERE subject = 'subject-1' ORDER BY seq"
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))  # five rows: only say whether the index can serve it
        return " ".join(str(r) for r in conn.execute(text(f"EXPLAIN {query}")))


def test_0011_indexes_only_events_with_a_subject_and_a_downgrade_indexes_all(engine: Engine) -> None:
    before = rows(engine)
    migrate(engine, "0010")
    assert "WHERE" not in subject_index(engine).upper()
    migrate(engine)
    assert rows(engine) == before
    if engine.dialect.name in ("sqlite", "postgresql"):
        assert "subject IS NOT NULL" in subject_index(engine), subject_index(engine)
    else:  # MariaDB has no partial indexes: the full one stays
        assert subject_index(engine) == "['subject']"
    assert "ix_ledger_events_subject" in subject_lookup_plan(engine), subject_lookup_plan(engine)
    assert_verifies(engine, 5)
    command.downgrade(_alembic_config(engine), "0010")
    assert "WHERE" not in subject_index(engine).upper()
    assert rows(engine) == before
    assert_append_only(engine)
    migrate(engine)
    append(engine, 2)
    assert_verifies(engine, 7)
