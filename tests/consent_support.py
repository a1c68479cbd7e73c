"""Plain helpers for the consent tests: a host site for the banner, clocks, a revised manifest."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

HOST_PAGES = Path(__file__).with_name("banner_host")
TRACKERS = ("matomo.js", "fbpixel.js")


def add_host_site(app: FastAPI) -> None:
    """Serve ``tests/banner_host`` under ``/test-host/`` as a third-party site would: its own strict CSP.

    The page loads the banner from ``http://127.0.0.1:PORT``; opened as ``http://localhost:PORT`` it is another
    origin (and another cookie host) than Charte, as on a real site. Only the tests add this route.
    """

    def host_file(request: Request, name: str) -> Response:
        path = HOST_PAGES / name
        if name not in ("page.html", *TRACKERS) or not path.is_file():
            return Response(status_code=404)
        charte = f"http://127.0.0.1:{request.url.port}"
        if name.endswith(".js"):
            return Response(path.read_bytes(), media_type="text/javascript", headers={"Cache-Control": "no-store"})
        html = path.read_text(encoding="utf-8").replace("{{CHARTE}}", charte)
        html = html.replace("{{LANG}}", request.query_params.get("lang", "fr"))
        # No 'unsafe-inline' anywhere: the banner must work with a single script tag and nothing else.
        csp = (f"default-src 'self'; script-src 'self' {charte}; connect-src 'self' {charte}; style-src 'self'; "
               f"img-src 'self'; object-src 'none'")
        return HTMLResponse(html, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})

    app.add_api_route("/test-host/{name}", host_file, methods=["GET"], include_in_schema=False)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 15, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll until ``predicate()`` is truthy (a recording happens after the browser's request returns)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


class Seconds:
    """A monotonic clock in seconds that the test moves by hand (the rate limiter's)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def revised_cookies(source: Path, target: Path) -> Path:
    """A copy of the manifest at ``source``, written to ``target``, whose cookie section changed.

    Matomo's service has another provider and sets one more cookie; everything else, purposes included, is the same.
    """
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    matomo = data["cookies"]["categories"]["analytics"]["services"]["matomo"]
    matomo["provider"] = "InnoCraft (Matomo Cloud)"
    matomo["cookies"].append({"name": "_pk_ref", "lifetime": "P6M"})
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target
