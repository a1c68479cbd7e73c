"""Consent API throughput against a bare FastAPI "hello" endpoint, served the same way, in one run.

    python benchmarks/consent_api.py [--seconds 3] [--rounds 3] [--connections 8] [--database-url URL]

Starts two uvicorn processes on 127.0.0.1 with identical settings: Charte's real app (a fresh workspace, SQLite by
default) and a bare FastAPI app. A keep-alive HTTP/1.1 client in this process measures, in alternating rounds,
requests per second for: the bare endpoint, permission checks (GET /api/v1/permissions with an API token), and
recording banner choices (POST /api/v1/consent, three categories each: three events and three ledger entries).
Then it times a 100,000-subject batch check, in process and over HTTP. Loopback only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOAL_RATIO = 0.5
BATCH = 100_000
SUBJECTS = 2_000  # identified people with a newsletter decision, asked about in turn


def bare_app():  # type: ignore[no-untyped-def]
    """The baseline: FastAPI's smallest JSON endpoint."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/hello-sync")
    def hello_sync() -> dict[str, str]:
        return {"hello": "world"}  # the same, run in the thread pool as every sync endpoint is

    return app


def real_app():  # type: ignore[no-untyped-def]
    """Charte's app for the workspace in CHARTE_HOME."""
    from charte.api import create_app
    from charte.config import Settings
    from charte.workspace import Workspace

    return create_app(Workspace(Settings.for_home(Path(os.environ["CHARTE_HOME"]))))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(factory: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    # The same server settings for both apps: one worker, default HTTP implementation, no access log.
    command = [sys.executable, "-m", "uvicorn", f"consent_api:{factory}", "--factory", "--app-dir", str(HERE),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning",
               "--no-access-log"]
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"uvicorn ({factory}) did not start")


async def _one_connection(port: int, requests: list[bytes], until: float, counter: list[int], limit: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.monotonic() < until and counter[0] < limit:
            writer.write(requests[n % len(requests)])
            n += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if status != 200:
                raise RuntimeError(f"unexpected status {status}: {head[:200]!r}")
            counter[0] += 1
    finally:
        writer.close()


async def _rate(port: int, requests: list[bytes], seconds: float, connections: int, limit: int = 500_000) -> float:
    counter = [0]
    start = time.monotonic()
    until = start + seconds
    await asyncio.gather(*(_one_connection(port, requests[i::connections] or requests, until, counter, limit)
                           for i in range(connections)))
    return counter[0] / (time.monotonic() - start)


def _get(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _post(path: str, body: str, headers: dict[str, str]) -> bytes:
    data = body.encode()
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: text/plain;charset=UTF-8",
             f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def _prepare(home: Path, database_url: str | None) -> tuple[str, dict[str, str]]:
    """A workspace with a read token and SUBJECTS people who decided about the newsletter."""
    from sqlalchemy import insert, text

    from charte.auth import create_token
    from charte.config import Settings
    from charte.consent import Choice, Collection, CollectionMethod, Decision, Scope, parse_subject, record_choices
    from charte.store import transaction
    from charte.store.consent import ConsentEvent, ConsentState, ConsentSubject
    from charte.workspace import Workspace, init_workspace

    if database_url:
        os.environ["CHARTE_DATABASE_URL"] = database_url
    init_workspace(home)
    workspace = Workspace(Settings.for_home(home))
    with transaction(workspace.sessions) as session:
        _, clear = create_token(session, "bench", ["consent:read"], created_by=None, actor="bench")
        for n in range(SUBJECTS):
            decision = (Decision.given, Decision.refused, Decision.withdrawn)[n % 3]
            record_choices(session, workspace.manifest, parse_subject(f"reader{n}@example.org"),
                           [Choice(Scope.purpose, "newsletter", decision)], Collection(CollectionMethod.api, "bench"))
    # The batch's 100,000 people: bulk-loaded current state (what the check reads), half of them subscribed.
    now = datetime.now(UTC)
    with workspace.engine.begin() as conn:
        first = SUBJECTS + 10
        rows = [{"id": first + n, "ref": f"s-{n:020x}", "key": f"email:batch{n}@example.org", "kind": "email",
                 "created_at": now} for n in range(BATCH)]
        for start in range(0, BATCH, 10_000):
            conn.execute(insert(ConsentSubject.__table__), rows[start:start + 10_000])
        event = conn.execute(insert(ConsentEvent.__table__).values(
            subject_id=first, scope="purpose", key="newsletter", decision="given", method="api", recorded_at=now,
            decided_at=now, period=now.strftime("%Y-%m"), policy_version="2020-01-22", actor="bench",
            content_sha256=secrets.token_hex(32), ledger_seq=0)).inserted_primary_key[0]
        states = [{"subject_id": first + n, "scope": "purpose", "key": "newsletter", "decision": "given",
                   "decided_at": now, "event_id": event} for n in range(0, BATCH, 2)]
        for start in range(0, len(states), 10_000):
            conn.execute(insert(ConsentState.__table__), states[start:start + 10_000])
        if conn.dialect.name == "postgresql":  # ids were given explicitly: move the sequence past them
            conn.execute(text("SELECT setval(pg_get_serial_sequence('consent_subjects', 'id'), "
                              "(SELECT max(id) FROM consent_subjects))"))
    workspace.engine.dispose()
    # The benchmark posts thousands of choices from one address: the public API's rate limit would refuse them.
    return clear, {**os.environ, "CHARTE_HOME": str(home), "CHARTE_CONSENT_RATE_LIMIT": "0"}


def _batch_in_process(home: Path) -> float:
    from charte.config import Settings
    from charte.consent import check_permissions
    from charte.workspace import Workspace

    workspace = Workspace(Settings.for_home(home))
    subjects = [f"batch{n}@example.org" for n in range(BATCH)]
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        with workspace.sessions() as session:
            answers = check_permissions(session, workspace.manifest, subjects, "newsletter")
        timings.append(time.perf_counter() - start)
        assert sum(a.allowed for a in answers) == BATCH // 2
    workspace.engine.dispose()
    return min(timings)


def _batch_over_http(port: int, token: str) -> float:
    body = json.dumps({"purpose": "newsletter", "subjects": [f"batch{n}@example.org" for n in range(BATCH)]})
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/permissions", data=body.encode(),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        timings.append(time.perf_counter() - start)
        assert answer["allowed"] == BATCH // 2
    return min(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (the median is kept)")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections")
    parser.add_argument("--database-url", help="Charte's store (default: SQLite in a temporary workspace)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="charte-bench-") as folder:
        home = Path(folder) / "ws"
        print("preparing a workspace ...", flush=True)
        token, env = _prepare(home, args.database_url)
        servers = [_start("real_app", env), _start("bare_app", env)]
        (_, real_port), (_, bare_port) = servers
        try:
            version = json.dumps(_banner_version(real_port))
            auth = {"Authorization": f"Bearer {token}"}
            checks = [_get(f"/api/v1/permissions?subject=reader{n}@example.org&purpose=newsletter", auth)
                      for n in range(SUBJECTS)]

            def new_visitors(count: int) -> list[bytes]:
                # A new consent id each time: every POST is a first visit (three decisions).
                return [_post("/api/v1/consent", '{"consent_id":"' + secrets.token_urlsafe(16) + '","choices":'
                              '{"functional":true,"analytics":false,"advertising":false},"banner_version":'
                              + version + ',"lang":"fr"}', {}) for _ in range(count)]

            hello = [_get("/hello", {})]
            rates: dict[str, list[float]] = {"bare": [], "check": [], "record": []}
            for _ in range(args.rounds):
                rates["bare"].append(asyncio.run(_rate(bare_port, hello, args.seconds, args.connections)))
                rates["check"].append(asyncio.run(_rate(real_port, checks, args.seconds, args.connections)))
                records = new_visitors(5_000)
                rates["record"].append(asyncio.run(_rate(real_port, records, args.seconds, args.connections,
                                                         limit=len(records))))
            batch_http = _batch_over_http(real_port, token)
        finally:
            for process, _ in servers:
                process.terminate()
                process.wait(timeout=10)
        batch = _batch_in_process(home)

    bare, check, record = (statistics.median(rates[k]) for k in ("bare", "check", "record"))
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"store: {store}; {args.rounds} rounds x {args.seconds:.0f} s, {args.connections} keep-alive connections, "
          f"uvicorn 1 worker; {os.cpu_count()} CPU(s) shared by client and servers")
    print(f"bare FastAPI GET /hello          {bare:8.0f} req/s   (rounds: {_rounded(rates['bare'])})")
    print(f"permission check GET (token)     {check:8.0f} req/s   (rounds: {_rounded(rates['check'])})  "
          f"ratio {check / bare:.2f}")
    print(f"record banner choices POST       {record:8.0f} req/s   (rounds: {_rounded(rates['record'])})  "
          f"ratio {record / bare:.2f}  (3 events + 3 ledger entries each)")
    print(f"batch of {BATCH:,} subjects          {batch:8.3f} s in process, {batch_http:.3f} s over HTTP")
    ok = check / bare >= GOAL_RATIO and batch < 2.0
    print(f"targets: permission checks >= {GOAL_RATIO:.0%} of bare, batch < 2 s: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


def _rounded(values: list[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values)


def _banner_version(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/banner.js", timeout=10) as response:
        text = response.read().decode()
    start = text.index('"ver":"') + 7
    return text[start:start + 64]


if __name__ == "__main__":
    raise SystemExit(main())
