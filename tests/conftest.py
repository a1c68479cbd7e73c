"""Shared fixtures: a fresh Charte store per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from charte.store import make_engine, migrate

ROOT = Path(__file__).parents[1]
EXAMPLE_MANIFEST = ROOT / "examples" / "equasens" / "charte.yaml"

#: Server used to create one throwaway database per test; CI sets it, the default matches the machine.
POSTGRES_ADMIN_URL = os.environ.get("CHARTE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STORE_BACKENDS = [b for b in os.environ.get("CHARTE_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


def _postgres_admin() -> Engine:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except Exception as exc:  # any connection failure means the service is absent here
        engine.dispose()
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL is required in CI but unreachable at {POSTGRES_ADMIN_URL}") from exc
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}")
    return engine


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    admin = _postgres_admin()
    name = f"charte_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store URL on each backend under test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'charte.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    """A migrated store engine on each backend."""
    engine = make_engine(store_url)
    migrate(engine)
    yield engine
    engine.dispose()
