"""`charte datasets ...` on the demo workspace: every right end to end through the command line."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charte.cli import app
from charte.datastores import dispose_engines
from charte.demo_crm import DEMO_SUBJECT, build_crm

runner = CliRunner()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A demo workspace (manifest with the CRM system, its database, annotations and keys in .env)."""
    for name in list(os.environ):
        if name.startswith("CHARTE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "ws"
    result = runner.invoke(app, ["demo", str(folder), "--no-serve"])
    assert result.exit_code == 0, result.output
    assert f"charte datasets access --email {DEMO_SUBJECT}" in result.output
    yield folder
    dispose_engines()


def _rows(database: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as db:
        return db.execute(query).fetchall()


def _dump(database: Path) -> list[list[tuple[object, ...]]]:
    tables = [t for (t,) in _rows(database, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return [sorted(_rows(database, f"SELECT * FROM {t}")) for t in tables]


def test_demo_database_is_small_and_quick(tmp_path: Path) -> None:
    started = time.perf_counter()
    counts = build_crm(tmp_path / "crm.db")
    assert time.perf_counter() - started < 5
    assert 2000 < sum(counts.values()) < 20000 and all(counts.values())


def test_every_right_through_the_command_line(demo: Path, tmp_path: Path) -> None:
    home = ["--home", str(demo)]
    crm = demo / "crm.db"
    checked = runner.invoke(app, ["datasets", "check", "--live", *home])
    assert checked.exit_code == 0, checked.output
    assert runner.invoke(app, ["check", str(demo / "charte.yaml")]).exit_code == 0

    access = runner.invoke(app, ["datasets", "access", "--email", DEMO_SUBJECT, "-o", str(tmp_path / "a.json"),
                                 *home])
    assert access.exit_code == 0, access.output
    report = json.loads((tmp_path / "a.json").read_text())
    collections = {c["name"]: c for c in report["systems"][0]["collections"]}
    invoices = _rows(crm, "SELECT COUNT(*) FROM invoices WHERE customer_id = 1")[0][0]
    assert collections["invoices"]["found"] == invoices
    assert collections["customers"]["rows"][0]["email"] == DEMO_SUBJECT
    email = next(f for f in collections["customers"]["fields"] if f["name"] == "email")
    assert "identification" in email["purposes"] and email["categories"] == ["user.contact.email"]

    portable = runner.invoke(app, ["datasets", "access", "--portable", "--email", DEMO_SUBJECT,
                                   "-o", str(tmp_path / "p.json"), *home])
    assert portable.exit_code == 0, portable.output
    data = json.loads((tmp_path / "p.json").read_text())["data"]["crm"]
    assert "web_visits" not in data and data["customers"][0]["email"] == DEMO_SUBJECT

    before = _dump(crm)
    dry = runner.invoke(app, ["datasets", "erase", "--email", DEMO_SUBJECT, "--dry-run", *home])
    assert dry.exit_code == 0, dry.output
    assert "DELETE FROM ticket_messages" in dry.output and "dry run" in dry.output
    assert _dump(crm) == before

    erased = runner.invoke(app, ["datasets", "erase", "--email", DEMO_SUBJECT, "--request-id", "demo-1", *home])
    assert erased.exit_code == 0, erased.output
    assert "kept under legal hold: invoices" in erased.output and "to be deleted on 20" in erased.output
    assert _rows(crm, "SELECT COUNT(*) FROM invoices WHERE customer_id = 1")[0][0] == invoices
    assert _rows(crm, "SELECT email, first_name FROM customers WHERE id = 1") == [(None, None)]
    assert _rows(crm, "SELECT COUNT(*) FROM support_tickets WHERE customer_id = 1") == [(0,)]
    again = runner.invoke(app, ["datasets", "erase", "--email", DEMO_SUBJECT, "--request-id", "demo-1", *home])
    assert again.exit_code == 0 and "already_done" in again.output

    (other,) = _rows(crm, "SELECT email FROM customers WHERE id = 2")[0]
    rectified = runner.invoke(app, ["datasets", "rectify", "--email", str(other),
                                    "--set", "user.contact.phone_number=+33 6 00 00 00 02", *home])
    assert rectified.exit_code == 0, rectified.output
    assert _rows(crm, "SELECT phone FROM customers WHERE id = 2") == [("+33 6 00 00 00 02",)]
    restricted = runner.invoke(app, ["datasets", "restrict", "--phone", "+33600000002", *home])
    assert restricted.exit_code == 0, restricted.output
    assert _rows(crm, "SELECT restricted FROM customers WHERE id = 2") == [(1,)]

    audit = runner.invoke(app, ["audit", "verify", *home])
    assert audit.exit_code == 0 and "ledger intact" in audit.output
    store = demo / "charte.db"
    types = [t for (t,) in _rows(store, "SELECT type FROM ledger_events WHERE type LIKE 'datastore.%' ORDER BY seq")]
    assert types == ["datastore.accessed", "datastore.accessed", "datastore.erased", "datastore.rectified",
                     "datastore.restricted"]
    payloads = " ".join(str(p) for (p,) in _rows(store, "SELECT payload FROM ledger_events"))
    assert DEMO_SUBJECT not in payloads and "00 00 02" not in payloads


def test_discover_writes_a_draft(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "draft.yaml"
    result = runner.invoke(app, ["datasets", "discover", f"sqlite:///{demo / 'crm.db'}", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "customers:" in out.read_text() and "collection(s) drafted" in result.output


def test_clear_errors(demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = ["--home", str(demo)]
    missing = runner.invoke(app, ["datasets", "access", *home])
    assert missing.exit_code == 1 and "--email" in missing.output
    unknown = runner.invoke(app, ["datasets", "access", "--email", "x@y.z", "--system", "erp", *home])
    assert unknown.exit_code == 1 and "unknown system(s) erp" in unknown.output
    env = demo / ".env"
    env.write_text("\n".join(line for line in env.read_text().splitlines()
                             if not line.startswith("CHARTE_DEMO_CRM_URL")) + "\n")
    unset = runner.invoke(app, ["datasets", "access", "--email", "x@y.z", *home])
    assert unset.exit_code == 1 and "CHARTE_DEMO_CRM_URL is not set" in unset.output
    no_db = runner.invoke(app, ["datasets", "discover", "${NOT_SET_ANYWHERE}"])
    assert no_db.exit_code == 1 and "NOT_SET_ANYWHERE" in no_db.output

