"""Background jobs on Huey: the queue chosen from the settings, tasks and schedules that call the domain.

Embedded default: Huey on a SQLite file in the workspace, consumed inside ``charte serve``. Scale-out: the queue
on PostgreSQL (Huey's PostgresHuey, the store's own server) or Redis, consumed by ``charte worker`` processes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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


class ScheduleConfigError(QueueConfigError):
    """A schedule setting (e.g. CHARTE_RETENTION_SCHEDULE) is not a cron line; a queue configuration error too, so
    ``charte worker`` reports it the same way."""


def cron_schedule(text: str) -> Callable[..., bool]:
    """Huey's schedule for a cron line ``minute hour day month weekday`` (e.g. ``10 2 * * *``)."""
    parts = text.split()
    if len(parts) != 5:
        raise ScheduleConfigError(f"{text!r} is not a cron line: minute hour day month weekday, e.g. '10 2 * * *'")
    try:
        schedule: Callable[..., bool] = crontab(*parts)
        schedule(datetime(2000, 1, 1))
    except ValueError as exc:
        raise ScheduleConfigError(f"{text!r} is not a valid cron line: {exc}") from exc
    return schedule


def sweep_retention(workspace: Workspace) -> dict[str, int] | None:
    """Apply the retention rules of every annotated system; None when another process is sweeping already."""
    from charte.datastores import workspace_keyring, workspace_systems
    from charte.retention import RetentionRunInProgress, run_retention

    settings = workspace.settings
    systems = workspace_systems(settings, workspace.manifest)
    if not systems:
        return {}
    try:
        report = run_retention(workspace.manifest, systems, workspace.sessions, keyring=workspace_keyring(settings),
                               batch_size=settings.retention_batch_size, actor="job:retention")
    except RetentionRunInProgress as exc:
        log.info("retention sweep skipped: %s", exc)
        return None
    return report.totals


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

    # One sweep at a time: a second worker's copy of this task finds the run's lease taken and returns.
    @periodic(cron_schedule(workspace.settings.retention_schedule), "retention_sweep")
    def _retention_sweep() -> dict[str, int] | None:
        return sweep_retention(workspace)

    _register_rights(jobs, periodic)
    _register_mail_and_breaches(jobs, periodic)
    return jobs


def worker_name() -> str:
    """Who holds a lease: host, process and thread, so a reconciler can tell workers apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


Periodic = Callable[[Callable[..., bool], str], Callable[[Callable[[], Any]], Any]]


def _register_rights(jobs: Jobs, periodic: Periodic) -> None:
    from charte.rights import service, workflow
    from charte.rights.reminders import remind_dpo
    from charte.rights.wiring import rights_services

    workspace = jobs.workspace

    @jobs.huey.task(name="execute_request", retries=3, retry_delay=30)  # type: ignore[untyped-decorator]
    def execute_request(reference: str) -> str:
        # The lease taken inside run_request makes a duplicate delivery of this task harmless.
        return service.run_request(workspace.sessions, rights_services(workspace), reference, worker=worker_name())

    jobs.tasks["execute_request"] = execute_request

    @periodic(crontab(minute="*"), "reconcile_requests")
    def _reconcile() -> bool:
        # Approved requests not yet run and requests whose worker died (lease expired) go back on the queue.
        svc = rights_services(workspace)
        with workspace.sessions() as session:
            stuck = service.requests_to_run(session, policy=svc.policy, clock=svc.clock)
        for reference in stuck:
            execute_request(reference)
        return True

    @periodic(crontab(minute="5", hour="7"), "remind_dpo")
    def _remind() -> bool:
        svc = rights_services(workspace)
        with transaction(workspace.sessions) as session:
            remind_dpo(session, svc.outgoing, policy=svc.policy, clock=svc.clock)
        return True

    @periodic(crontab(minute="40", hour="2"), "close_and_purge_requests")
    def _housekeeping() -> bool:
        svc = rights_services(workspace)
        with transaction(workspace.sessions) as session:
            workflow.close_unverified(session, policy=svc.policy, clock=svc.clock)
            workflow.purge_answers(session, clock=svc.clock)
        return True


def _register_mail_and_breaches(jobs: Jobs, periodic: Periodic) -> None:
    from charte.breaches.warnings import warn_dpo
    from charte.ledger.chain import utcnow
    from charte.mail import deliver_pending, sender_from_settings

    workspace = jobs.workspace

    @periodic(crontab(minute="*"), "deliver_mail")
    def _deliver() -> bool:
        deliver_pending(workspace.sessions, sender_from_settings(workspace.settings))
        return True

    @periodic(crontab(minute="*/10"), "breach_warnings")
    def _breach_warnings() -> bool:
        with transaction(workspace.sessions) as session:
            warn_dpo(session, workspace.manifest, sender_from_settings(workspace.settings), utcnow())
        return True
