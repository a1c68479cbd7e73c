"""Resilience: an erasure process killed at random points, again and again, then run to the end, leaves the
database exactly as an uninterrupted run does, with one ledger event per request and no plan left behind."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import time
from datetime import date, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import create_engine, select

from charte.anonymise import KEYS_VARIABLE, Keyring
from charte.datastores import execute, load_systems
from charte.ledger import verify
from charte.manifest import load_manifest
from charte.store import make_engine, migrate, session_factory
from charte.store.datastores import DatastoreExecution
from charte.store.models import LedgerEvent

from .datastores_support import (
    dump,
    invoices,
    metadata,
    notes,
    order_items,
    orders,
    people,
    tags,
    visits,
    write_manifest,
)

SUBJECTS = 24
KILLS = 20


def _build(url: str) -> list[str]:
    """Subjects with hundreds of rows each, half with invoices (legal hold); return their emails."""
    engine = create_engine(url)
    metadata.create_all(engine)
    emails = []
    data: dict[object, list[dict[str, object]]] = {t: [] for t in metadata.sorted_tables}
    item = visit = 0
    for pid in range(1, SUBJECTS + 3):
        email = f"person{pid}@example.com"
        emails.append(email)
        data[people].append({"id": pid, "email": email, "phone": f"06000000{pid:02d}", "full_name": f"P {pid}",
                             "birth_date": date(1970, 1, 1 + pid % 28), "restricted": 0})
        for o in range(20):
            oid = pid * 100 + o
            data[orders].append({"id": oid, "person_id": pid, "placed_at": datetime(2024, 1, 1 + o),
                                 "shipping_address": f"{o} rue {pid}"})
            for _ in range(3):
                item += 1
                data[order_items].append({"id": item, "order_id": oid, "product": "p", "price": item})
        for _ in range(150):
            visit += 1
            data[visits].append({"id": visit, "person_id": pid, "ip": f"10.{pid}.{visit % 250}.{visit % 200}",
                                 "visitor": f"v{pid}-{visit % 7}", "url": f"/{visit}"})
        if pid % 2:
            data[invoices].append({"id": pid, "person_id": pid, "issued_at": date(2024, 1, 1), "billing_name": "P",
                                   "amount": pid})
        data[tags] += [{"person_id": pid, "tag": f"t{k}"} for k in range(3)]
        data[notes].append({"id": pid, "subject_email": email, "body": "note"})
    with engine.begin() as conn:
        for table, rows in data.items():
            conn.execute(table.insert(), rows)  # type: ignore[attr-defined]
    engine.dispose()
    return emails[:SUBJECTS]


def _erase(manifest_path: Path, store_url: str, emails: list[str], env: dict[str, str], ready: Connection) -> None:
    """The child process: run the erasures one after another, say when it starts and how long it took."""
    os.environ.clear()
    os.environ.update(env)
    manifest = load_manifest(manifest_path)
    systems = load_systems(manifest, manifest_path)
    store = session_factory(make_engine(store_url))
    ready.send("ready")
    started = time.perf_counter()
    for i, email in enumerate(emails):
        report = execute("erasure", {"email": email}, manifest=manifest, systems=systems, store=store,
                         request_id=f"kill-{i}")
        if not report.ok:
            ready.send(f"failed {report.to_dict()}")
            os._exit(2)
    ready.send(f"done {time.perf_counter() - started}")
    os._exit(0)


def _run(manifest: Path, store_url: str, emails: list[str], env: dict[str, str],
         kill_after: float | None = None) -> tuple[bool, float | None]:
    """Run the erasures in a new process; SIGKILL it ``kill_after`` seconds after it starts. (finished, seconds)"""
    # Forked, so the child starts without importing everything again (20 runs stay within the test's budget).
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe()
    process = context.Process(target=_erase, args=(manifest, store_url, emails, env, child_end))
    process.start()
    assert parent_end.poll(30) and parent_end.recv() == "ready"
    if kill_after is not None:
        time.sleep(kill_after)
        os.kill(process.pid or 0, signal.SIGKILL)
    process.join(60)
    message = ""
    while parent_end.poll(0.1):
        message = parent_end.recv()
    if kill_after is None:
        assert process.exitcode == 0 and message.startswith("done"), message
    return (True, float(message.split()[1])) if message.startswith("done") else (False, None)


def _erasure_events(url: str) -> list[dict[str, object]]:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        events = [json.loads(e.payload) for e in session.scalars(
            select(LedgerEvent).where(LedgerEvent.type == "datastore.erased").order_by(LedgerEvent.seq))]
    engine.dispose()
    return events


def _ledger(url: str) -> dict[object, dict[str, object]]:
    events = {payload["request_id"]: payload for payload in _erasure_events(url)}
    for payload in events.values():
        payload.pop("resumed", None)
    return events


def test_erasure_killed_twenty_times_ends_like_an_uninterrupted_run(tmp_path: Path) -> None:
    killed_db, reference_db = tmp_path / "killed.db", tmp_path / "reference.db"
    emails = _build(f"sqlite:///{killed_db}")
    shutil.copyfile(killed_db, reference_db)
    keys = Keyring.generate("k9").to_env()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTE_")}
    stores = {}
    for name in ("killed", "reference"):
        stores[name] = f"sqlite:///{tmp_path / (name + '-charte.db')}"
        engine = make_engine(stores[name])
        migrate(engine)
        engine.dispose()
    manifest = write_manifest(tmp_path / "ws")

    def env(db: Path) -> dict[str, str]:
        return {**base_env, "SHOP_URL": f"sqlite:///{db}", KEYS_VARIABLE: keys}

    finished, duration = _run(manifest, stores["reference"], emails, env(reference_db))
    assert finished and duration is not None
    rnd = random.Random(1789)
    interrupted = 0
    for _ in range(KILLS):
        # On average each run gets through 1/KILLS of the work before it is killed: the kills land all along
        # the execution (traversal, journal, statements, commit, ledger) of different requests.
        done, _ = _run(manifest, stores["killed"], emails, env(killed_db),
                       kill_after=rnd.uniform(0, 2 * duration / KILLS))
        interrupted += not done
    print(f"{interrupted}/{KILLS} kills interrupted the erasures; an uninterrupted run takes {duration:.2f} s")
    assert interrupted >= KILLS // 2, "most kills must land while erasing"
    assert _run(manifest, stores["killed"], emails, env(killed_db))[0]
    expected = dump(create_engine(f"sqlite:///{reference_db}"))
    assert dump(create_engine(f"sqlite:///{killed_db}")) == expected
    assert len(expected["people"]) == 2 + SUBJECTS // 2, "subjects with invoices stay (masked), others are gone"
    # Same result, not only the same rows: each request's ledger event has the counts of the uninterrupted run.
    assert _ledger(stores["killed"]) == _ledger(stores["reference"])
    requests = [payload["request_id"] for payload in _erasure_events(stores["killed"])]
    assert sorted(map(str, requests)) == sorted(f"kill-{i}" for i in range(SUBJECTS))  # one event per request
    store = make_engine(stores["killed"])
    with session_factory(store)() as session:
        journal = session.execute(select(DatastoreExecution.status, DatastoreExecution.plan)).all()
        assert len(journal) == SUBJECTS and all(row == ("done", None) for row in journal)
        assert verify(session).ok
    store.dispose()
