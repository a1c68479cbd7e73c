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

#: Web fixtures (workspace, app, client, signed_in, live_server) for every test module.
pytest_plugins = ["tests.web_fixtures"]

ROOT = Path(__file__).parents[1]
EXAMPLE_MANIFEST = ROOT / "examples" / "equasens" / "charte.yaml"

#: Server used to create one throwaway database per test; CI sets it, the default matches the machine.
POSTGRES_ADMIN_URL = os.environ.get("CHARTE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_ADMIN_URL = os.environ.get("CHARTE_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("CHARTE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("CHARTE_TEST_CHROMIUM", "/usr/bin/chromium")
STORE_BACKENDS = [b for b in os.environ.get("CHARTE_TEST_BACKENDS", "sqlite,postgresql,mariadb").split(",") if b]


def service_absent(name: str, where: str, exc: BaseException) -> None:
    """Skip locally when a service is genuinely absent; in CI its absence is a failure."""
    if os.environ.get("CI"):
        raise RuntimeError(f"{name} is required in CI but unreachable at {where}") from exc
    pytest.skip(f"{name} not reachable at {where}: {exc.__class__.__name__}")


def _admin_engine(url: str, name: str) -> Engine:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except Exception as exc:  # any connection failure means the service is absent here
        engine.dispose()
        service_absent(name, make_url(url).render_as_string(hide_password=True), exc)
    return engine


def _throwaway_database(admin_url: str, service: str, create: str, drop: str) -> Iterator[str]:
    """URL of a new, empty database made with ``create`` (``{name}`` in it), dropped with ``drop`` afterwards."""
    admin = _admin_engine(admin_url, service)
    name = f"charte_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(create.format(name=name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop.format(name=name)))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    yield from _throwaway_database(POSTGRES_ADMIN_URL, "PostgreSQL", 'CREATE DATABASE "{name}"',
                                   'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """URL of a new, empty MariaDB database, dropped after the test."""
    yield from _throwaway_database(
        MARIADB_ADMIN_URL, "MariaDB", "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        "DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def redis_url() -> str:
    """URL of the Redis server (tests use their own key prefix or database and clean it)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # absent service
        service_absent("Redis", REDIS_URL, exc)
    return REDIS_URL


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright, headless."""
    if not Path(CHROMIUM).exists():
        service_absent("Chromium", CHROMIUM, FileNotFoundError(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield instance
        instance.close()


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store URL on each backend under test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'charte.db'}"
    elif request.param in ("postgresql", "mariadb"):
        yield request.getfixturevalue("postgres_url" if request.param == "postgresql" else "mariadb_url")
    else:
        raise ValueError(f"unknown store backend {request.param!r} in CHARTE_TEST_BACKENDS "
                         "(sqlite, postgresql, mariadb)")


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    """A migrated store engine on each backend."""
    engine = make_engine(store_url)
    migrate(engine)
    yield engine
    engine.dispose()
