"""Plain helpers for the auth and web tests (no fixtures: those are in :mod:`tests.web_fixtures`)."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = CSRF.search(html)
    if match is None:
        raise AssertionError(f"no CSRF token in the page: {html[:500]}")
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, **extra: str) -> httpx.Response:
    """Fetch the login form, then post it; returns the POST response (not followed)."""
    form = client.get("/admin/login")
    if form.status_code != 200:
        raise AssertionError(f"login form answered {form.status_code}")
    data = {"username": username, "password": password, "csrf_token": csrf_token(form.text), **extra}
    response: httpx.Response = client.post("/admin/login", data=data, follow_redirects=False)
    return response


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers that bind it themselves)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI) -> Iterator[int]:
    """Serve ``app`` with uvicorn on 127.0.0.1 in a thread; yields the port.

    uvicorn is handed the socket this binds, so no other process (a parallel test worker) can take the port
    between choosing it and listening on it.
    """
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
