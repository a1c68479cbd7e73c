"""Scale-out: two `charte worker` processes on a shared queue, one killed mid-way; every request completes once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from charte.config import Settings
from charte.jobs import build_jobs
from charte.rights.intake import Submission
from charte.rights.service import receive
from charte.rights.wiring import rights_services
from charte.store import transaction
from charte.store.models import LedgerEvent
from charte.store.rights import RightsRequest
from charte.workspace import Workspace, init_workspace

REQUESTS = 200


def completed_counts(workspace: Workspace) -> Counter[str]:
    with workspace.sessions() as session:
        payloads = session.scalars(select(LedgerEvent.payload).where(LedgerEvent.type == "request.completed"))
        return Counter(json.loads(p)["reference"] for p in payloads)


def open_requests(workspace: Workspace) -> int:
    with workspace.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(RightsRequest)
                                  .where(RightsRequest.state != "completed")) or 0)


@pytest.mark.parametrize("queue", ["redis", "postgresql"])
def test_two_workers_one_killed_every_request_completes_once(
        queue: str, tmp_path: Path, postgres_url: str, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    queue_url = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/7" if queue == "redis" else None
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTE_")}
    env.update(CHARTE_DATABASE_URL=postgres_url, CHARTE_WORKERS="2", CHARTE_RIGHTS_LEASE_SECONDS="3")
    if queue_url:
        env["CHARTE_QUEUE_URL"] = queue_url
    for name in list(os.environ):
        if name.startswith("CHARTE_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("CHARTE_"):
            monkeypatch.setenv(name, value)
    home = tmp_path / "ws"
    workspace = Workspace(init_workspace(home))
    assert isinstance(workspace.settings, Settings) and workspace.settings.store_url == postgres_url

    svc = rights_services(workspace)
    with transaction(workspace.sessions) as session:
        references = [receive(session, svc, Submission("information", email=f"subject{i}@example.org"),
                              address=None, verified_by="test").request.reference for i in range(REQUESTS)]
    jobs = build_jobs(workspace)
    jobs.huey.flush()
    for reference in references:
        jobs.tasks["execute_request"](reference)

    logs = [(tmp_path / f"worker{i}.log").open("w") for i in range(2)]
    workers = [subprocess.Popen([sys.executable, "-m", "charte", "worker", "--home", str(home)],
                                stdout=log, stderr=subprocess.STDOUT, env={**env, "CHARTE_HOME": str(home)})
               for log in logs]
    try:
        deadline = time.monotonic() + 120
        while sum(completed_counts(workspace).values()) < REQUESTS // 4:
            assert time.monotonic() < deadline, "workers made no progress"
            time.sleep(0.2)
        workers[0].send_signal(signal.SIGKILL)  # mid-way: it may hold leases and queued tasks
        workers[0].wait(timeout=10)
        time.sleep(4)  # past the 3-second lease
        jobs.tasks["reconcile_requests"]()  # what the minute-by-minute schedule does, without waiting for it
        while open_requests(workspace):
            assert time.monotonic() < deadline, f"{open_requests(workspace)} request(s) stuck"
            time.sleep(0.5)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=15)
        for log in logs:
            log.close()
        jobs.huey.flush()
    counts = completed_counts(workspace)
    assert set(counts) == set(references)
    assert set(counts.values()) == {1}, {r: n for r, n in counts.items() if n != 1}
    with workspace.sessions() as session:
        from charte import ledger

        assert ledger.verify(session).ok
    workspace.dispose()
