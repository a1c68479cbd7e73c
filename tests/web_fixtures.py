"""Fixtures for the auth and web tests: a fresh workspace (SQLite in tmp_path) and signed-in clients.

Loaded with ``pytest_plugins = ["tests.web_fixtures"]`` so they stay apart from the shared conftest; plain helpers
live in :mod:`tests.web_support` (a module imported by tests cannot also be a plugin with rewritten asserts).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from charte.api import create_app
from charte.auth import create_user
from charte.config import Settings
from charte.store import transaction
from charte.store.models import AdminUser
from charte.workspace import Workspace, init_workspace
from tests.web_support import PASSWORD, login, serving

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A new workspace (example manifest, migrated SQLite store, generated secret key)."""
    for name in list(os.environ):
        if name.startswith("CHARTE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's folder
    return init_workspace(tmp_path / "workspace")


@pytest.fixture
def workspace(settings: Settings) -> Iterator[Workspace]:
    """The workspace, its engine disposed afterwards."""
    ws = Workspace(settings)
    yield ws
    ws.dispose()


@pytest.fixture
def make_user(workspace: Workspace) -> Callable[..., AdminUser]:
    """Create a dashboard user: ``make_user("alice", "admin")``."""

    def make(username: str, role: str, password: str = PASSWORD) -> AdminUser:
        with transaction(workspace.sessions) as session:
            return create_user(session, username, password, role, actor="test")

    return make


@pytest.fixture
def app(workspace: Workspace) -> FastAPI:
    """The web app of the workspace."""
    return create_app(workspace)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An anonymous browser."""
    with TestClient(app) as anonymous:
        yield anonymous


@pytest.fixture
def signed_in(app: FastAPI, make_user: Callable[..., AdminUser]) -> Iterator[ClientFactory]:
    """``signed_in("admin")``: a browser signed in as a new user with that role."""
    clients: list[TestClient] = []

    def factory(role: str, username: str | None = None) -> TestClient:
        name = username or f"{role}-user"
        make_user(name, role)
        browser = TestClient(app)
        clients.append(browser)
        response = login(browser, name)
        assert response.status_code == 303, response.text
        return browser

    yield factory
    for browser in clients:
        browser.close()


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 in a thread, for browser tests; yields its base URL."""
    with serving(app) as port:
        yield f"http://127.0.0.1:{port}"
