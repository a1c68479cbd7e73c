"""The command line on a real workspace, on SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from charte.cli import app
from charte.store import make_engine

from .conftest import EXAMPLE_MANIFEST

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace folder whose store is on the backend under test."""
    monkeypatch.setenv("CHARTE_DATABASE_URL", store_url)
    monkeypatch.delenv("CHARTE_HOME", raising=False)
    folder = tmp_path / "ws"
    result = runner.invoke(app, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    return folder


def test_init_creates_and_never_overwrites(workspace: Path) -> None:
    manifest = workspace / "charte.yaml"
    assert manifest.read_text(encoding="utf-8") == EXAMPLE_MANIFEST.read_text(encoding="utf-8")
    env = workspace / ".env"
    assert "CHARTE_SECRET_KEY=" in env.read_text()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    manifest.write_text(manifest.read_text(encoding="utf-8") + "# edited by the DPO\n", encoding="utf-8")
    secret = env.read_text()
    assert runner.invoke(app, ["init", str(workspace)]).exit_code == 0
    assert manifest.read_text(encoding="utf-8").endswith("# edited by the DPO\n")
    assert env.read_text() == secret


def test_init_refuses_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 1
    assert "is not a folder" in result.output


def test_publish_verify_export(workspace: Path, tmp_path: Path) -> None:
    home = ["--home", str(workspace)]
    first = runner.invoke(app, ["policy", "publish", *home])
    assert first.exit_code == 0 and "2020-01-22 published" in first.output
    again = runner.invoke(app, ["policy", "publish", *home])
    assert "already published" in again.output
    verified = runner.invoke(app, ["audit", "verify", *home])
    assert verified.exit_code == 0 and "ledger intact: 1 events" in verified.output
    out = tmp_path / "ledger.jsonl"
    assert runner.invoke(app, ["audit", "export", "-o", str(out), *home]).exit_code == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0]["type"] == "policy.published"
    head = lines[-1]["head"]["hash"]
    assert runner.invoke(app, ["audit", "verify", "--head", head, *home]).exit_code == 0
    assert runner.invoke(app, ["audit", "verify", "--head", "0" * 64, *home]).exit_code == 1


def test_verify_names_the_tampered_event(workspace: Path, store_url: str) -> None:
    home = ["--home", str(workspace)]
    assert runner.invoke(app, ["policy", "publish", *home]).exit_code == 0
    engine = make_engine(store_url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER ledger_events_append_only ON ledger_events"))
        else:
            conn.execute(text("DROP TRIGGER ledger_events_no_update"))
        conn.execute(text("UPDATE ledger_events SET actor = 'mallory' WHERE seq = 1"))
    engine.dispose()
    result = runner.invoke(app, ["audit", "verify", *home])
    assert result.exit_code == 1
    assert "BROKEN at position 1 (event seq 1)" in result.output


def test_undated_change_is_refused(workspace: Path) -> None:
    home = ["--home", str(workspace)]
    assert runner.invoke(app, ["policy", "publish", *home]).exit_code == 0
    manifest = workspace / "charte.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("name: Equasens\n", "name: Equasens SA\n", 1),
                        encoding="utf-8")
    result = runner.invoke(app, ["policy", "publish", *home])
    assert result.exit_code == 1
    assert "add a new entry under policy.versions" in result.output


def test_uninitialised_store_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHARTE_DATABASE_URL", raising=False)
    result = runner.invoke(app, ["audit", "verify", "--home", str(tmp_path)])
    assert result.exit_code == 1
    assert "not initialised: run `charte init`" in result.output


def test_broken_manifest_blocks_publication(workspace: Path) -> None:
    manifest = workspace / "charte.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("    legal_basis: contract\n", "", 1),
                        encoding="utf-8")
    result = runner.invoke(app, ["policy", "publish", "--home", str(workspace)])
    assert result.exit_code == 1
    assert "[legal-basis-missing]" in result.output


def test_tokens_are_created_and_revoked_from_the_command_line(workspace: Path) -> None:
    home = ["--home", str(workspace)]
    created = runner.invoke(app, ["admin", "create-token", "crm", "--scope", "consent:read", *home])
    assert created.exit_code == 0, created.output
    assert runner.invoke(app, ["admin", "create-token", "crm", *home]).exit_code != 0  # the name is taken
    revoked = runner.invoke(app, ["admin", "revoke-token", "crm", *home])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    unknown = runner.invoke(app, ["admin", "revoke-token", "nobody", *home])
    assert unknown.exit_code != 0 and "no token named 'nobody'" in unknown.output


@pytest.mark.parametrize("key", ["", "too-short-a-key"])
@pytest.mark.parametrize("command", [["serve"], ["worker"], ["requests", "list"]])
def test_commands_that_sign_refuse_a_missing_or_short_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          command: list[str], key: str) -> None:
    monkeypatch.delenv("CHARTE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHARTE_HOME", raising=False)
    monkeypatch.delenv("CHARTE_SECRET_KEY", raising=False)
    folder = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    (folder / ".env").write_text(f"CHARTE_SECRET_KEY={key}\n" if key else "", encoding="utf-8")

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError("started with a key that cannot sign")

    # Were the check missing, the test fails instead of serving or consuming until killed.
    monkeypatch.setattr("charte.web.server.serve", started)
    monkeypatch.setattr("charte.jobs.Jobs.consumer", started)
    result = runner.invoke(app, [*command, "--home", str(folder)])
    # Refused before a server, a worker or a query starts, with the reason and no traceback.
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert ("is not set" if not key else "at least 32") in result.output
