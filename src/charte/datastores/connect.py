"""Connections to the organisation's databases: URLs from ``${ENV_VAR}``, engines reused, passwords hidden."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


class MissingEnvironmentVariable(LookupError):
    """A system URL refers to an environment variable that is not set."""

    def __init__(self, name: str, system: str | None = None) -> None:
        self.name = name
        where = f" (URL of system {system!r})" if system else ""
        super().__init__(f"environment variable {name} is not set{where}; set it to the database URL, "
                         "e.g. in the workspace's .env")


class InvalidDatabaseUrl(ValueError):
    """The resolved text is not a SQLAlchemy database URL."""


def resolve_url(template: str, environ: Mapping[str, str] | None = None, *, system: str | None = None) -> str:
    """The URL with every ``${NAME}`` replaced from ``environ``; raise naming the first missing variable."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if not env.get(name):
            raise MissingEnvironmentVariable(name, system)
        return env[name]

    url = _REFERENCE.sub(value, template)
    try:
        make_url(url)
    except ArgumentError as exc:
        raise InvalidDatabaseUrl(f"not a database URL{f' for system {system!r}' if system else ''}: "
                                 f"{display_url(url)}") from exc
    return url


def display_url(url: str) -> str:
    """The URL safe to print or log: the password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)


def _sqlite(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below) so a transaction that writes takes the lock before reading.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # Deleting a row still referenced elsewhere must fail rather than leave dangling references.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("charte_write") else "BEGIN")

    return engine


def engine_for(url: str) -> Engine:
    """A pooled engine for ``url``, created once per process (requests reuse its connections)."""
    engine = _ENGINES.get(url)  # asked several times per request: a dict read needs no lock
    if engine is not None:
        return engine
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            # No ping per checkout: it would cost a round trip per request; a dropped connection invalidates the
            # pool and the (idempotent) request is simply run again.
            engine = _sqlite(url) if url.startswith("sqlite") else create_engine(url, pool_recycle=1800)
            _ENGINES[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, before a fork, at exit)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
