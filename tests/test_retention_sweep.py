"""Retention sweeps on real SQLite, PostgreSQL and MariaDB databases with an injected clock.

The expected database after a sweep is computed by hand from the rows of ``retention_support`` and its cutoffs,
never by Charte's SQL: exactly the due rows change; legal holds and rows not yet due stay as they are.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from charte.anonymise import KEYS_VARIABLE, Keyring, pseudonym
from charte.datastores import ConnectedSystem, dispose_engines, load_systems
from charte.ledger import verify
from charte.manifest import Manifest, load_manifest
from charte.retention import (
    SWEPT_EVENT,
    BatchDone,
    RetentionConfigError,
    RetentionRunInProgress,
    RunReport,
    last_runs,
    plan_retention,
    run_retention,
)
from charte.retention.journal import begin_run
from charte.store import make_engine, migrate, session_factory
from charte.store.models import LedgerEvent
from charte.store.retention import RetentionProgressRecord

from . import retention_support as crm
from .retention_support import (
    CUTOFF_3Y,
    CUTOFF_13M,
    CUTOFF_25M,
    INVOICES_RELEASED_BEFORE,
    NOW,
    create_crm,
    dump,
    write_manifest,
)

#: IP truncation by hand: two bytes of IPv4, 80 bits of IPv6 (Matomo's setting under the CNIL exemption).
TRUNCATED = {"192.168.10.77": "192.168.0.0", "10.1.2.3": "10.1.0.0", "172.16.0.0": "172.16.0.0",
             "203.0.113.9": "203.0.0.0", "2001:db8:85a3:8d3:1319:8a2e:370:7348": "2001:db8:85a3::",
             "fe80::1ff:fe23:4567:890a": "fe80::", None: None}
KEYRING = Keyring.generate("k1")


@dataclass
class Crm:
    """The CRM database, its manifest and systems, and Charte's store."""

    url: str
    engine: Engine
    manifest: Manifest
    manifest_path: Path
    systems: dict[str, ConnectedSystem]
    store: sessionmaker[Session]
    store_url: str

    def run(self, **options: Any) -> RunReport:
        options.setdefault("clock", lambda: NOW)
        options.setdefault("keyring", KEYRING)
        return run_retention(self.manifest, self.systems, self.store, **options)

    def events(self) -> list[dict[str, Any]]:
        with self.store() as session:
            return [json.loads(e.payload) for e in session.scalars(
                select(LedgerEvent).where(LedgerEvent.type == SWEPT_EVENT).order_by(LedgerEvent.seq))]


def _database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    return str(request.getfixturevalue("postgres_url" if backend == "postgresql" else "mariadb_url"))


def make_crm(url: str, folder: Path, store_url: str) -> Crm:
    """The CRM at ``url`` with its manifest in ``folder`` and a migrated store at ``store_url``."""
    engine = create_crm(url)
    manifest_path = write_manifest(folder)
    manifest = load_manifest(manifest_path)
    systems = load_systems(manifest, manifest_path, environ={"CRM_URL": url})
    store_engine = make_engine(store_url)
    migrate(store_engine)
    return Crm(url, engine, manifest, manifest_path, systems, session_factory(store_engine), store_url)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def shop(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Crm]:
    """The CRM on each backend; Charte's store on SQLite."""
    made = make_crm(_database_url(backend, tmp_path, request, "crm"), tmp_path / "ws",
                    f"sqlite:///{tmp_path / 'charte.db'}")
    yield made
    made.engine.dispose()
    dispose_engines()


def expected_after_sweep() -> dict[str, list[tuple[Any, ...]]]:
    """The database after a sweep at NOW, by hand from the rows and the cutoffs."""
    data = {t.name: rows for t, rows in crm.rows().items()}
    invoices_gone = {r["id"] for r in data["invoices"]
                     if r["issued_at"] < INVOICES_RELEASED_BEFORE and r["issued_at"] <= CUTOFF_3Y.date()}
    invoices_left = [r for r in data["invoices"] if r["id"] not in invoices_gone]
    customers_gone = {r["id"] for r in data["customers"] if r["last_contact_at"] <= CUTOFF_3Y
                      and not any(i["customer_id"] == r["id"] for i in invoices_left)}
    visits = []
    for r in data["visits"]:
        if r["visited_at"] <= CUTOFF_25M:
            continue
        r = dict(r)
        if r["visited_at"] <= CUTOFF_13M:
            r.update(ip=TRUNCATED[r["ip"]], visitor=pseudonym(r["visitor"], KEYRING), user_agent=None)
        if r["customer_id"] in customers_gone:
            r["customer_id"] = None
        visits.append(r)
    newsletter = [{**r, "email": pseudonym(r["email"], KEYRING)} if r["subscribed_at"] <= CUTOFF_3Y else r
                  for r in data["newsletter"]]
    archived = [r for r in data["prospects"] if r["met_at"] <= CUTOFF_3Y]
    after = {
        "customers": [r for r in data["customers"] if r["id"] not in customers_gone],
        "orders": [r for r in data["orders"] if r["customer_id"] not in customers_gone],
        "invoices": invoices_left,
        "invoice_lines": [r for r in data["invoice_lines"] if r["invoice_id"] not in invoices_gone],
        "visits": visits,
        "newsletter": newsletter,
        "prospects": [r for r in data["prospects"] if r not in archived],
        "prospects_archive": archived,
    }
    columns = {t.name: [c.name for c in t.columns] for t in crm.metadata.sorted_tables}
    return {name: sorted((tuple(crm._norm(r[c]) for c in columns[name]) for r in rows), key=lambda row: row[0])
            for name, rows in after.items()}


def test_expected_state_is_not_trivial() -> None:
    """The hand-computed expectation changes every kind of row, and keeps held and young rows."""
    before = {t.name: len(rows) for t, rows in crm.rows().items()}
    after = expected_after_sweep()
    assert [r[0] for r in after["customers"]] == [1, 3, 4, 5, 8]  # 1 and 5: invoices under hold; 3: a second short
    assert [r[0] for r in after["invoices"]] == [1, 4, 6]  # 4: issued on 1 January 2016, kept until 2027
    assert len(after["visits"]) < before["visits"] and len(after["orders"]) == before["orders"] - 6
    assert len(after["prospects_archive"]) == 17


def test_sweep_changes_exactly_the_due_rows(shop: Crm) -> None:
    report = shop.run(batch_size=7)
    assert dump(shop.engine) == expected_after_sweep()
    totals = report.totals
    # Visits are deleted after 25 months before the younger ones are anonymised: none is anonymised for nothing.
    assert totals["anonymised"] == sum(1 for r in crm.rows()[crm.visits] if CUTOFF_25M < r["visited_at"] <= CUTOFF_13M)
    assert totals["deleted_with_parent"] == 6 + 6  # invoice lines of 3 invoices, orders of 3 customers
    events = {e["collection"]: e for e in shop.events()}
    assert set(events) == {"customers", "invoices", "visits", "newsletter", "prospects"}
    assert events["invoices"]["deleted"] == 3 and events["invoices"]["invoice_lines.deleted_with_parent"] == 6
    assert events["customers"]["deleted"] == 3 and events["customers"]["orders.deleted_with_parent"] == 6
    assert events["prospects"]["archived"] == events["prospects"]["deleted"] == 17
    assert "@" not in json.dumps(shop.events())  # counts only, never personal data
    with shop.store() as session:
        assert verify(session).ok
        runs = last_runs(session, 5)
    assert runs[0].status == "done" and runs[0].totals == totals


def test_second_sweep_changes_nothing(shop: Crm) -> None:
    shop.run()
    first = dump(shop.engine)
    again = shop.run()
    assert dump(shop.engine) == first
    assert not any(again.totals.values())


def test_rows_become_due_as_the_clock_moves(shop: Crm) -> None:
    """A day later, the visit a second younger than the 13-month cutoff is anonymised; nothing else new is due."""
    shop.run()
    later = NOW + timedelta(days=1)
    shop.run(clock=lambda: later)
    with shop.engine.connect() as conn:
        agent = conn.execute(select(crm.visits.c.user_agent).where(crm.visits.c.id == 4)).scalar_one()
        young = conn.execute(select(func.count()).select_from(crm.visits).where(
            crm.visits.c.visited_at > CUTOFF_13M + timedelta(days=1), crm.visits.c.user_agent.is_(None))).scalar_one()
    assert agent is None and young == 0


def test_plan_counts_and_statements(shop: Crm) -> None:
    plan = plan_retention(shop.manifest, shop.systems, clock=lambda: NOW, keyring=KEYRING)
    assert not plan.problems
    by_label = {p.rule.label: p for p in plan.rules}
    invoices, customers = by_label["crm.invoices#1"], by_label["crm.customers#1"]
    assert (invoices.due_now, invoices.held, invoices.due_soon) == (3, 3, 0)
    # Customers 2 and 6 are due; 1, 5 and 7 are referenced by invoices (7's go first when the run deletes them);
    # customer 3 becomes due a second after the cutoff, within the next 30 days.
    assert (customers.due_now, customers.referenced, customers.due_soon) == (2, 3, 1)
    visits = crm.rows()[crm.visits]
    month_later = CUTOFF_13M.replace(month=6)
    assert by_label["crm.visits#1"].due_now == sum(1 for r in visits if r["visited_at"] <= CUTOFF_13M)
    assert by_label["crm.visits#1"].due_soon == sum(1 for r in visits if CUTOFF_13M < r["visited_at"] <= month_later)
    assert by_label["crm.visits#2"].due_now == sum(1 for r in visits if r["visited_at"] <= CUTOFF_25M)
    sql = "\n".join(invoices.statements)
    assert "DELETE FROM invoice_lines" in sql and "DELETE FROM invoices" in sql
    assert "issued_at <= '2015-12-31 23:59:59.999999" in sql  # the hold: invoices of 2015 and before
    customer_sql = "\n".join(customers.statements)
    assert "UPDATE visits SET customer_id=NULL" in customer_sql and "DELETE FROM orders" in customer_sql
    assert "INSERT INTO prospects_archive" in "\n".join(by_label["crm.prospects#1"].statements)
    assert dump(shop.engine) == {t.name: sorted((tuple(crm._norm(r[c.name]) for c in t.columns) for r in rows),
                                                key=lambda row: row[0]) for t, rows in crm.rows().items()}


class Interrupted(Exception):
    pass


def test_exception_after_a_batch_then_rerun_gives_the_same_result(shop: Crm) -> None:
    seen = []

    def stop_after_five(batch: BatchDone) -> None:
        seen.append(batch)
        if len(seen) == 5:
            raise Interrupted

    with pytest.raises(Interrupted):
        shop.run(batch_size=4, on_batch=stop_after_five)
    assert dump(shop.engine) != expected_after_sweep()
    with shop.store() as session:
        assert last_runs(session, 1)[0].status == "interrupted"
        # The fifth batch committed in the CRM; the journal still holds it as pending, with what it changed.
        pending = session.scalars(select(RetentionProgressRecord.pending).where(
            RetentionProgressRecord.pending.isnot(None))).all()
    assert len(pending) == 1 and sum(pending[0]["counts"].values()) > 0
    report = shop.run(batch_size=4, clock=lambda: NOW + timedelta(days=40))
    assert report.resumed and report.as_of == NOW  # the interrupted run's instant, not the new clock's
    assert dump(shop.engine) == expected_after_sweep()
    events = shop.events()
    assert sorted(e["collection"] for e in events) == ["customers", "invoices", "newsletter", "prospects", "visits"]
    by_collection = {e["collection"]: e for e in events}
    invoices = by_collection["invoices"]
    assert invoices["deleted"] == 3 and invoices["invoice_lines.deleted_with_parent"] == 6
    assert by_collection["visits"]["deleted"] == sum(1 for r in crm.rows()[crm.visits] if r["visited_at"] <= CUTOFF_25M)


def test_journal_failure_rolls_the_batch_back(shop: Crm, monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal is written before the CRM commits a batch: if it cannot be, the batch does not happen."""
    from charte.retention import run as run_module
    from charte.retention.journal import save_progress as real
    calls = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise Interrupted
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "save_progress", flaky)
    with pytest.raises(Interrupted):
        shop.run(batch_size=1)
    with shop.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(crm.invoices)).scalar_one()
    assert left == 6 - 2  # two batches of one invoice committed, the third rolled back with its journal write
    monkeypatch.setattr(run_module, "save_progress", real)
    shop.run()
    assert dump(shop.engine) == expected_after_sweep()
    events = {e["collection"]: e for e in shop.events()}
    assert events["invoices"]["deleted"] == 3 and events["invoices"]["invoice_lines.deleted_with_parent"] == 6


def _sweep_slowly(manifest_path: str, url: str, store_url: str, keys: str) -> None:
    """The child process: a sweep of one-row batches, slowed down so the parent can kill it mid-way."""
    os.environ[KEYS_VARIABLE] = keys
    manifest = load_manifest(Path(manifest_path))
    systems = load_systems(manifest, manifest_path, environ={"CRM_URL": url})
    store = session_factory(make_engine(store_url))
    run_retention(manifest, systems, store, clock=lambda: NOW, keyring=Keyring.from_env(),
                  batch_size=1, on_batch=lambda batch: time.sleep(0.02))


@pytest.mark.parametrize("store_backend", ["sqlite", "postgresql"])
def test_killed_run_resumes_to_the_same_result(backend: str, store_backend: str, tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:
    store_url = _database_url(store_backend, tmp_path, request, "charte") if store_backend == "sqlite" else \
        str(request.getfixturevalue("postgres_url"))
    target = make_crm(_database_url(backend, tmp_path, request, "crm"), tmp_path / "ws", store_url)
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_sweep_slowly, args=(str(target.manifest_path), target.url, store_url,
                                                         KEYRING.to_env()))
    child.start()
    deadline = time.monotonic() + 60
    batches = 0
    while batches < 25 and time.monotonic() < deadline and child.is_alive():
        time.sleep(0.05)
        with target.store() as session:
            batches = int(session.scalar(select(func.coalesce(func.sum(RetentionProgressRecord.batches), 0))) or 0)
    assert child.is_alive(), "the sweep finished before it could be killed: slow it down"
    os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    child.join()
    assert dump(target.engine) != expected_after_sweep()
    report = target.run()
    assert report.resumed
    assert dump(target.engine) == expected_after_sweep()
    assert sorted(e["collection"] for e in target.events()) == ["customers", "invoices", "newsletter", "prospects",
                                                                "visits"]
    target.engine.dispose()
    dispose_engines()


def test_one_run_at_a_time(shop: Crm) -> None:
    begin_run(shop.store, systems=["crm"], actor="other", clock=lambda: NOW, lease=timedelta(minutes=10))
    with pytest.raises(RetentionRunInProgress):
        shop.run()
    # Once the lease has expired the run is taken over and finished, at its own instant.
    report = shop.run(clock=lambda: NOW + timedelta(minutes=11))
    assert report.resumed and dump(shop.engine) == expected_after_sweep()


def test_wrong_annotations_stop_the_run_before_any_change(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = create_crm(url)
    broken = crm.ANNOTATIONS.replace("retention: {field: met_at, period: P3Y, action: archive_then_delete, "
                                     "archive: prospects_archive}",
                                     "retention: {field: met_at, purpose: marketing}")
    assert broken != crm.ANNOTATIONS
    manifest_path = write_manifest(tmp_path / "ws", broken)
    manifest = load_manifest(manifest_path)
    systems = load_systems(manifest, manifest_path, environ={"CRM_URL": url})
    store = make_engine(f"sqlite:///{tmp_path / 'charte.db'}")
    migrate(store)
    before = dump(engine)
    with pytest.raises(RetentionConfigError, match="unknown purpose 'marketing'"):
        run_retention(manifest, systems, session_factory(store), clock=lambda: NOW)
    assert dump(engine) == before
    engine.dispose()
    dispose_engines()


def test_pseudonymising_without_keys_changes_nothing(shop: Crm) -> None:
    from charte.anonymise import MissingPseudonymKey

    before = dump(shop.engine)
    with pytest.raises(MissingPseudonymKey):
        shop.run(keyring=None)
    assert dump(shop.engine) == before
    with shop.store() as session:
        assert last_runs(session, 1) == []
