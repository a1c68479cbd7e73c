"""The job queue: backend choice from the settings, tasks run by a real consumer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from huey import PostgresHuey, RedisHuey, SqliteHuey

from charte import ledger
from charte.config import Settings
from charte.jobs import QueueConfigError, build_jobs, make_huey
from charte.workspace import Workspace


def workspace_with(settings: Settings, **changes: object) -> Workspace:
    return Workspace(settings.model_copy(update=changes))


def test_queue_backend_follows_settings(settings: Settings, postgres_url: str) -> None:
    assert isinstance(make_huey(Workspace(settings)), SqliteHuey)
    assert isinstance(make_huey(workspace_with(settings, queue_url="redis://127.0.0.1:6379/3")), RedisHuey)
    on_postgres = make_huey(workspace_with(settings, database_url=postgres_url))
    assert isinstance(on_postgres, PostgresHuey)
    with pytest.raises(QueueConfigError, match="amqp"):
        make_huey(workspace_with(settings, queue_url="amqp://guest@127.0.0.1"))


@pytest.mark.parametrize("backend", ["sqlite", "redis", "postgresql"])
def test_consumer_runs_ledger_verification(backend: str, settings: Settings, tmp_path: Path,
                                           request: pytest.FixtureRequest) -> None:
    queue_url = {
        "sqlite": f"sqlite:///{tmp_path / 'queue.db'}",
        "redis": request.getfixturevalue("redis_url"),
        "postgresql": request.getfixturevalue("postgres_url") if backend == "postgresql" else None,
    }[backend]
    workspace = workspace_with(settings, queue_url=queue_url)
    jobs = build_jobs(workspace, make_huey(workspace, name=f"charte-test-{tmp_path.name}"))
    consumer = jobs.consumer(workers=1, periodic=False)
    consumer._set_signal_handlers = lambda: None  # not the main process here
    consumer.start()
    def verified_events() -> list[object]:
        with workspace.sessions() as session:
            return [e for e in ledger.events(session) if e.type == "ledger.verified"]

    try:
        jobs.tasks["verify_ledger"]()  # periodic tasks keep no result: watch the ledger instead
        deadline = time.monotonic() + 20
        while not verified_events() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        consumer.stop(graceful=True)
        jobs.huey.flush()
    assert len(verified_events()) == 1
    with workspace.sessions() as session:
        assert ledger.verify(session).ok
