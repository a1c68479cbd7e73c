"""Plain helpers for the auth and web tests (no fixtures: those are in :mod:`tests.web_fixtures`)."""

from __future__ import annotations

import re

import httpx
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
