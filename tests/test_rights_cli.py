"""`charte requests list|show|approve|deny|extend|run|remind` and `charte mail deliver` on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charte.cli import app
from charte.config import Settings
from charte.ledger import utcnow
from charte.rights import RightsPolicy, Submission
from charte.rights.intake import submit_request
from charte.rights.verification import confirm_identity, email_verified
from charte.store import transaction
from charte.workspace import Workspace

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace on the backend under test, mail going to its outbox."""
    for name in ("CHARTE_HOME", "CHARTE_SMTP_URL", "CHARTE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHARTE_DATABASE_URL", store_url)
    folder = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    return folder


def seed(home: Path, kind: str, address: str, days_ago: int, *, verified: bool = True) -> str:
    """A request received ``days_ago`` days ago, verified (and its identity confirmed) when asked."""
    workspace = Workspace(Settings.for_home(home))
    policy = RightsPolicy()
    moment = utcnow() - timedelta(days=days_ago)
    try:
        with transaction(workspace.sessions) as session:
            request = submit_request(session, workspace.manifest, Submission(kind, email=address), address=None,
                                     policy=policy, clock=lambda: moment).request
            if verified:
                email_verified(session, request, method="email_code", policy=policy, clock=lambda: moment)
                if request.state == "identity_review":
                    confirm_identity(session, request, actor="test", note=None, policy=policy, clock=lambda: moment)
            return request.reference
    finally:
        workspace.engine.dispose()


def outbox(home: Path) -> list[email.message.EmailMessage]:
    """The messages of the outbox, oldest first."""
    messages = []
    for path in sorted((home / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        messages.append(parsed)
    return messages


def text_of(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return " ".join(str(part.get_content()).split())


def test_list_due_within_shows_late_and_close_requests(home: Path) -> None:
    soon = seed(home, "objection", "soon@example.org", 28)
    late = seed(home, "objection", "late@example.org", 45)
    later = seed(home, "objection", "later@example.org", 1)
    waiting = seed(home, "access", "waiting@example.org", 0, verified=False)
    result = runner.invoke(app, ["requests", "list", "--due-within", "7d", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert soon in result.output and late in result.output and later not in result.output
    assert f"{late}  objection" in result.output and "LATE" in result.output
    everything = runner.invoke(app, ["requests", "list", "--home", str(home)]).output
    assert later in everything and waiting in everything and "suspended" in everything
    bad = runner.invoke(app, ["requests", "list", "--due-within", "soon", "--home", str(home)])
    assert bad.exit_code == 1 and "not a period" in bad.output


def test_approve_runs_the_request_and_the_letter_reaches_the_outbox(home: Path) -> None:
    reference = seed(home, "objection", "ann@example.org", 3)
    shown = runner.invoke(app, ["requests", "show", reference, "--home", str(home)])
    assert shown.exit_code == 0 and "verified" in shown.output and "request.received" in shown.output
    approved = runner.invoke(app, ["requests", "approve", reference, "--actor", "dpo-cli", "--home", str(home)])
    assert approved.exit_code == 0, approved.output
    assert f"request {reference}: completed" in approved.output and "mail: 1 sent" in approved.output
    letter = outbox(home)[-1]
    assert reference in str(letter["Subject"]) and letter["To"] == "ann@example.org"
    again = runner.invoke(app, ["requests", "approve", reference, "--home", str(home)])
    assert again.exit_code == 1 and "cannot become approved" in again.output
    assert runner.invoke(app, ["audit", "verify", "--home", str(home)]).exit_code == 0


def test_deny_and_extend_need_reasons_and_write_to_the_subject(home: Path) -> None:
    refused = seed(home, "erasure", "bea@example.org", 3)
    extended = seed(home, "access", "cal@example.org", 3)
    too_late = seed(home, "access", "dan@example.org", 40)
    assert runner.invoke(app, ["requests", "deny", refused, "--reason", " ", "--home", str(home)]).exit_code == 1
    denied = runner.invoke(app, ["requests", "deny", refused, "--reason", "Obligation légale de conservation.",
                                 "--home", str(home)])
    assert denied.exit_code == 0 and "denied" in denied.output
    assert "CNIL" in text_of(outbox(home)[-1])
    done = runner.invoke(app, ["requests", "extend", extended, "--months", "2", "--reason", "Plusieurs systèmes.",
                               "--home", str(home)])
    assert done.exit_code == 0, done.output
    assert "prolongé de 2 mois" in text_of(outbox(home)[-1])
    late = runner.invoke(app, ["requests", "extend", too_late, "--reason", "x", "--home", str(home)])
    assert late.exit_code == 1 and "has passed" in late.output


def test_reminder_is_sent_once_and_run_picks_up_approved_requests(home: Path) -> None:
    seed(home, "objection", "eve@example.org", 29)
    first = runner.invoke(app, ["requests", "remind", "--home", str(home)])
    assert first.exit_code == 0 and "1 request(s)" in first.output
    assert runner.invoke(app, ["requests", "remind", "--home", str(home)]).output.startswith("0 request(s)")
    digest = outbox(home)[-1]
    assert digest["To"] == "dpo@equasens.com"
    queued = seed(home, "objection", "fay@example.org", 2)
    assert runner.invoke(app, ["requests", "approve", queued, "--no-run", "--home", str(home)]).exit_code == 0
    ran = runner.invoke(app, ["requests", "run", "--home", str(home)])
    assert ran.exit_code == 0 and f"request {queued}: completed" in ran.output
    assert runner.invoke(app, ["mail", "deliver", "--home", str(home)]).exit_code == 0
