"""Engines, sessions and migrations for Charte's own store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

from charte.store.heap import keep_heap

MIGRATIONS = Path(__file__).with_name("migrations")

# JSON columns (journal plans and reports, consent records...) are written on every request: no spaces, and no
# walk for circular references (Charte builds them as trees). Same values as json.dumps gives, fewer bytes.
_STORE_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def store_json(value: Any) -> str:
    """The JSON text of a store column's value.

    orjson writes it (an erasure's journal entry in 1/10 of the time: ~35 us of the request on SQLite); the few
    values it refuses (integers beyond 64 bits) go through the standard library. Only the ledger's canonical JSON,
    which events are hashed over, must stay byte for byte the same: it is not written here.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return _STORE_JSON.encode(value)


class StoreNotReady(Exception):
    """The store's schema is missing or older than this version of Charte."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, foreign keys and a busy timeout."""
    keep_heap()  # a process with a store serves requests: see charte.store.heap
    kwargs.setdefault("json_serializer", store_json)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of the driver's implicit one.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Take the write lock up front: a transaction that reads and then writes would otherwise fail
            # with SQLITE_BUSY when another writer committed in between, instead of waiting its turn.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_read_engine(url: str) -> Engine:
    """An engine for reads that take no lock: every statement sees the latest committed state.

    The store's own engine starts every SQLite transaction with ``BEGIN IMMEDIATE`` so that writers queue
    instead of failing; a read needs no lock in WAL mode, and taking one would queue every read behind every
    write. pysqlite opens no transaction for a SELECT. Other databases get an ordinary engine.
    """
    if url.startswith("sqlite"):
        # As many connections as the server's thread pool has threads (AnyIO's default is 40): opening one
        # costs more than the read, and each keeps its prepared statements.
        return create_engine(url, connect_args={"timeout": 30}, pool_size=40, max_overflow=0, pool_timeout=30)
    return make_engine(url)


#: Anything a read can run on: an ORM session, or a bare connection on hot paths.
Reader = Session | Connection


def dialect_name(reader: Reader) -> str:
    """The database kind (``sqlite``, ``postgresql``, ``mysql``...) behind ``reader``."""
    if isinstance(reader, Connection):
        return reader.dialect.name
    return reader.get_bind().dialect.name


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits together, or not at all."""
    with factory() as session, session.begin():
        yield session


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the store's schema up to ``revision``."""
    command.upgrade(_alembic_config(engine), revision)


def ensure_ready(engine: Engine) -> None:
    """Raise :class:`StoreNotReady` unless the schema has been migrated."""
    if not inspect(engine).has_table("alembic_version"):
        raise StoreNotReady(
            f"the store at {engine.url.render_as_string(hide_password=True)} is not initialised: "
            "run `charte init` (or `charte db upgrade`)"
        )
