"""`charte demo` end to end: a real server process serving the policy and the dashboard."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .web_support import csrf_token, free_port


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """A running ``charte demo``: base URL, username, password."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTE_")}
    log = (tmp_path / "demo.log").open("w+")
    process = subprocess.Popen([sys.executable, "-m", "charte", "demo", str(tmp_path / "ws"), "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, env=env, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise AssertionError(f"charte demo did not come up:\n{log.read()}")
            time.sleep(0.2)
        log.seek(0)
        match = re.search(r"login\s+(\S+) / (\S+)", log.read())
        assert match, "the demo prints its login"
        yield base, match.group(1), match.group(2)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_demo_serves_policy_and_admin(demo: tuple[str, str, str]) -> None:
    base, username, password = demo
    fr = httpx.get(f"{base}/policy")
    assert fr.status_code == 200 and "Politique de confidentialité" in fr.text
    assert "22 janvier 2020" in fr.text
    en = httpx.get(f"{base}/policy?lang=en")
    assert "22 January 2020" in en.text
    assert httpx.get(f"{base}/api/v1/policy").json()["controller"]["name"] == "Equasens"
    with httpx.Client(base_url=base) as client:
        anonymous = client.get("/admin", follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login")
        form = client.get("/admin/login")
        signed_in = client.post("/admin/login", data={"username": username, "password": password,
                                                      "csrf_token": csrf_token(form.text)}, follow_redirects=True)
        assert signed_in.status_code == 200
        assert "Equasens" in signed_in.text and str(signed_in.url).endswith("/admin")
