"""`charte retention ...`, `charte anonymise export` and the retention job on a workspace with the CRM system."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from charte import ledger
from charte.anonymise import KEYS_VARIABLE, Keyring
from charte.cli import app
from charte.config import Settings
from charte.datastores import dispose_engines
from charte.jobs import ScheduleConfigError, build_jobs, make_huey
from charte.retention import SWEPT_EVENT
from charte.workspace import Workspace

from .retention_support import create_crm, dump, write_manifest

runner = CliRunner()


@pytest.fixture
def home(settings: Settings, tmp_path: Path) -> Iterator[Path]:
    """The test workspace with the CRM system (SQLite) and pseudonymisation keys in its .env."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    create_crm(url).dispose()
    write_manifest(settings.home)
    with (settings.home / ".env").open("a", encoding="utf-8") as env:
        env.write(f"CRM_URL={url}\n{KEYS_VARIABLE}={Keyring.generate('k1').to_env()}\n")
    yield settings.home
    dispose_engines()


def _dump(tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    try:
        return dump(engine)
    finally:
        engine.dispose()


def test_plan_then_run_then_runs(home: Path, tmp_path: Path) -> None:
    before = _dump(tmp_path)
    plan = runner.invoke(app, ["retention", "plan", "--home", str(home)])
    assert plan.exit_code == 0, plan.output
    assert "-- crm.invoices#1: delete after P3Y from issued_at (purpose sales_billing)" in plan.output
    assert "DELETE FROM invoice_lines WHERE" in plan.output and "INSERT INTO prospects_archive" in plan.output
    assert _dump(tmp_path) == before  # planning changes nothing

    run = runner.invoke(app, ["retention", "run", "--home", str(home), "--batch-size", "5"])
    assert run.exit_code == 0, run.output
    after = _dump(tmp_path)  # the command runs on the real clock: counts checked against the database
    archived = len(after["prospects_archive"])
    assert archived >= 17 and f"prospects:archived: {archived}" in run.output
    assert [row[0] for row in after["invoices"]] == [1, 4, 6]  # held until the end of 2026 and later

    runs = runner.invoke(app, ["retention", "runs", "--home", str(home)])
    assert runs.exit_code == 0 and "run 1 " in runs.output and "done" in runs.output


def test_plan_reports_unusable_rules(home: Path) -> None:
    annotations = home / "datasets" / "crm.yaml"
    annotations.write_text(annotations.read_text(encoding="utf-8").replace(
        "purpose: newsletter, action: pseudonymise", "purpose: unknown_purpose, action: pseudonymise"),
        encoding="utf-8")
    plan = runner.invoke(app, ["retention", "plan", "--home", str(home), "--no-sql"])
    assert plan.exit_code == 1 and "unknown purpose 'unknown_purpose'" in plan.output
    run = runner.invoke(app, ["retention", "run", "--home", str(home)])
    assert run.exit_code == 1 and "unknown_purpose" in run.output


def test_anonymise_export_command(home: Path, tmp_path: Path) -> None:
    # Eight customers: postcodes 54001-54008 all become 54, but their last contacts fall in seven years.
    refused = runner.invoke(app, ["anonymise", "export", "crm", "customers", "-o", str(tmp_path / "c.csv"),
                                  "--quasi", "last_contact_at=year", "--home", str(home)])
    assert refused.exit_code == 1, refused.output
    assert "refused: not 5-anonymous; the smallest group has 1 row(s)" in " ".join(refused.output.split())
    assert not (tmp_path / "c.csv").exists()
    passed = runner.invoke(app, ["anonymise", "export", "crm", "customers", "-o", str(tmp_path / "c.csv"),
                                 "--k", "8", "--home", str(home)])
    assert passed.exit_code == 0, passed.output
    lines = (tmp_path / "c.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "postcode,last_contact_at" and len(lines) == 9
    assert all(line.startswith("54,") for line in lines[1:])


def test_retention_job_sweeps_the_workspace(home: Path, tmp_path: Path) -> None:
    workspace = Workspace(Settings.for_home(home))
    jobs = build_jobs(workspace, make_huey(workspace, name=f"retention-{tmp_path.name}"))
    assert "retention_sweep" in jobs.tasks
    totals = jobs.tasks["retention_sweep"].call_local()
    assert totals["archived"] == len(_dump(tmp_path)["prospects_archive"]) >= 17
    with workspace.sessions() as session:
        swept = [e for e in ledger.events(session) if e.type == SWEPT_EVENT]
    assert len(swept) == 5
    workspace.engine.dispose()


def test_retention_schedule_comes_from_the_settings(settings: Settings) -> None:
    workspace = Workspace(settings.model_copy(update={"retention_schedule": "5 4 * * 1"}))
    jobs = build_jobs(workspace)
    task = jobs.tasks["retention_sweep"]
    assert task.task_class().validate_datetime(datetime(2026, 6, 15, 4, 5))  # a Monday, 04:05
    assert not task.task_class().validate_datetime(datetime(2026, 6, 16, 4, 5))
    with pytest.raises(ScheduleConfigError):
        build_jobs(Workspace(settings.model_copy(update={"retention_schedule": "every night"})))
