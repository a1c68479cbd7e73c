"""Background jobs on Huey: the queue chosen from the settings, tasks and schedules that call the domain.

Embedded default: Huey on a SQLite file in the workspace, consumed inside ``charte serve``. Scale-out: the queue
on PostgreSQL (Huey's PostgresHuey, the store's own server) or Redis, consumed by ``charte worker`` processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from sqlalchemy.engine import make_url

from charte import ledger
from charte.store import transaction
from charte.workspace import Workspace

log = logging.getLogger("charte.jobs")


class QueueConfigError(ValueError):
    """The queue URL names a backend Charte cannot use."""


def make_huey(workspace: Workspace, *, name: str = "charte") -> Huey:
    """The Huey instance for the workspace's settings."""
    settings = workspace.settings
    url = settings.queue_url
    if url is None and settings.store_url.startswith("postgresql"):
        url = settings.store_url
    if url is None:
        return SqliteHuey(name, filename=str(settings.home / "queue.db"), journal_mode="wal")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url)
    if url.startswith("postgresql"):
        # Huey speaks psycopg directly: drop SQLAlchemy's "+psycopg" driver suffix.
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresHuey(name, dsn=dsn)
    if url.startswith("sqlite:///"):
        return SqliteHuey(name, filename=url.removeprefix("sqlite:///"), journal_mode="wal")
    raise QueueConfigError(f"CHARTE_QUEUE_URL must be redis://, postgresql:// or sqlite:///, not {url.split(':')[0]}")


@dataclass
class Jobs:
    """The queue and the tasks registered on it for one workspace."""

    workspace: Workspace
    huey: Huey
    tasks: dict[str, Any] = field(default_factory=dict)

    def consumer(self, workers: int, *, periodic: bool = True) -> Consumer:
        """A consumer with ``workers`` threads (and the scheduler of periodic tasks)."""
        return self.huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic,
                                         check_worker_health=True)


def verify_ledger(workspace: Workspace) -> ledger.Verification:
    """Recompute the chain; record the verified head (a dated anchor) or log the break loudly."""
    with transaction(workspace.sessions) as session:
        result = ledger.verify(session)
        if result.ok:
            ledger.append(session, "ledger.verified", {"count": result.count, "head": result.head_hash},
                          actor="job:verify_ledger")
        else:
            log.critical("ledger verification failed: %s", result.describe())
    return result


def build_jobs(workspace: Workspace, huey: Huey | None = None) -> Jobs:
    """Register every task and schedule on the queue; producers and workers call this the same way."""
    jobs = Jobs(workspace, huey or make_huey(workspace))

    def periodic(schedule: Callable[..., bool], name: str) -> Callable[[Callable[[], Any]], Any]:
        def register(func: Callable[[], Any]) -> Any:
            task = jobs.huey.periodic_task(schedule, name=name, retries=2, retry_delay=60)(func)
            jobs.tasks[name] = task
            return task

        return register

    @periodic(crontab(minute="17", hour="3"), "verify_ledger")
    def _verify_ledger() -> bool:
        return verify_ledger(workspace).ok

    return jobs
