"""``charte breach`` on a real workspace: record, list, show, notify (late reasons), inform, warn, export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from charte.cli import app
from charte.ledger import utcnow

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose store is on the backend under test; commands find it through CHARTE_HOME."""
    monkeypatch.setenv("CHARTE_DATABASE_URL", store_url)
    folder = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    monkeypatch.setenv("CHARTE_HOME", str(folder))
    return folder


def invoke(*args: str) -> str:
    result = runner.invoke(app, ["breach", *args])
    assert result.exit_code == 0, result.output
    return result.output


def new(aware: str, *extra: str) -> str:
    return invoke("new", "--title", "Lost USB key", "--risk", "high", "--risk-reasoning", "Unencrypted health data",
                  "--nature", "confidentiality", "--nature", "availability", "--aware-at", aware,
                  "--category", "user.name", "--category", "user.health_and_medical", "--data-subject", "customers",
                  "--subjects", "120", "--records", "340", "--consequences", "Disclosure of care details",
                  "--measures-taken", "Reported to the police", *extra)


def test_record_list_show_and_notify_in_time(workspace: Path, tmp_path: Path) -> None:
    aware = (utcnow() - timedelta(hours=30)).isoformat()
    recorded = new(aware)
    assert "recorded BR-0001: Lost USB key" in recorded and "41 h 59 min left" in recorded
    assert "people: 120, records: 340 (declared)" in recorded
    listing = invoke("list")
    assert "BR-0001" in listing and "Notification due" in listing
    shown = invoke("show", "BR-0001")
    assert "Communication to the people concerned required" in shown and "user.health_and_medical" in shown
    draft = tmp_path / "draft.html"
    invoke("show", "1", "--document", "cnil", "-o", str(draft))
    assert "Notification initiale" in draft.read_text(encoding="utf-8")
    letter = invoke("show", "1", "--document", "letter", "--lang", "en")
    assert "What this may mean for you" in letter and "Disclosure of care details" in letter
    notified = invoke("notify", "BR-0001", "--authority-reference", "CNIL-42", "-o", str(tmp_path / "sent.html"))
    assert "initial notification recorded" in notified and "late" not in notified
    assert "CNIL-42" in (tmp_path / "sent.html").read_text(encoding="utf-8")
    assert "complementary notification recorded" in invoke("notify", "1")
    assert "Notified" in invoke("list")
    audit = runner.invoke(app, ["audit", "verify"])
    assert audit.exit_code == 0 and "intact: 3 events" in audit.output  # recorded, notified twice


def test_late_notification_needs_reasons(workspace: Path) -> None:
    new((utcnow() - timedelta(hours=80)).isoformat())
    refused = runner.invoke(app, ["breach", "notify", "1"])
    assert refused.exit_code == 1 and "Art. 33(1) requires the reasons for the delay" in refused.output
    accepted = invoke("notify", "1", "--reasons", "The theft was reported to us by the carrier late.")
    assert "late, reasons recorded" in accepted


def test_refusals_are_clear(workspace: Path) -> None:
    unknown = runner.invoke(app, ["breach", "show", "BR-0009"])
    assert unknown.exit_code == 1 and "no breach BR-0009" in unknown.output
    bad = runner.invoke(app, ["breach", "new", "--title", "x", "--risk", "risk", "--risk-reasoning", "r",
                              "--nature", "integrity", "--category", "user.typo"])
    assert bad.exit_code == 1 and "unknown data category: user.typo" in bad.output
    new(utcnow().isoformat(), "--exception", "a", "--exception-reasoning", "encrypted")
    no_letter = runner.invoke(app, ["breach", "show", "1", "--document", "letter"])
    assert no_letter.exit_code == 1 and "Art. 34(3)(a) applies" in no_letter.output


def test_inform_warn_and_export(workspace: Path, tmp_path: Path) -> None:
    new((utcnow() - timedelta(hours=50)).isoformat())
    recipients = tmp_path / "people.csv"
    recipients.write_text("email,language\nanne@example.fr,fr\nbob@example.com,en\n", encoding="utf-8")
    assert "2 message(s) written" in invoke("inform", "1", "--recipients", str(recipients))
    assert "BR-0001: 24 h threshold reached" in invoke("warn")
    assert "no warning due" in invoke("warn")
    assert len(list((workspace / "outbox").glob("*.eml"))) == 3  # two letters, one warning to the DPO
    exported = invoke("export", "--lang", "en")
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    assert rows[0]["No."] == "BR-0001" and "Email to each person" in rows[0]["People informed"]
    target = tmp_path / "register.xlsx"
    invoke("export", "--format", "xlsx", "-o", str(target))
    sheet = load_workbook(target).active
    assert sheet is not None and sheet["A2"].value == "BR-0001"


def test_the_command_line_choices_are_the_register_vocabulary() -> None:
    # Typer needs enums; the domain keeps Literals: the two lists must not drift apart.
    from typing import get_args

    from charte import cli
    from charte.breaches import documents, export, facts

    assert [n.value for n in cli.Nature] == list(get_args(facts.Nature))
    assert [r.value for r in cli.Risk] == list(get_args(facts.RiskLevel))
    assert [e.value for e in cli.Art34Exception] == list(get_args(facts.Art34Exception))
    assert [p.value for p in cli.NotificationPhase] == ["auto", *get_args(documents.Phase)]
    assert [f.value for f in cli.RegisterFormat] == list(get_args(export.RegisterFormat))
