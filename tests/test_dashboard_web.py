"""The DPO dashboard over HTTP: navigation from the registry, overview sections, breach pages, roles, documents."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import create_engine, select, text

from charte.api import create_app
from charte.auth import create_user
from charte.breaches import get_breach, record_breach
from charte.config import Settings
from charte.dashboard import OverviewSection, consent_rates, register_section
from charte.dashboard import sections as overview_sections
from charte.ledger import append
from charte.manifest.publication import publish_policy
from charte.store import transaction
from charte.store.models import LedgerEvent
from charte.web import navigation
from charte.workspace import Workspace
from tests.web_support import PASSWORD, csrf_token, login

from .breach_support import CRM_DATASET, at, build_crm_database, facts

ClientFactory = Callable[..., TestClient]


def form(token: str, **changes: object) -> dict[str, object]:
    """A complete breach form as the browser posts it."""
    data: dict[str, object] = {
        "csrf_token": token, "title": "Customer file emailed to the wrong address", "aware_at": "2026-03-02T10:00",
        "occurred_at": "", "nature": ["confidentiality"], "description": "Sent by mistake.",
        "data_categories": ["user.name", "user.contact.email"], "data_subjects": ["customers"],
        "subjects_count": "1 200", "records_count": "", "consequences": "Phishing.",
        "measures_taken": "Recipient deleted it.", "measures_planned": "", "subject_advice": "",
        "risk": "high", "risk_reasoning": "Many people.", "art34_exception": "", "art34_reasoning": "",
        "text_language": "fr", "collections_text": "", "subject_collections_text": "",
    }
    data.update(changes)
    return data


@pytest.fixture
def clocked(app: FastAPI) -> Iterator[FastAPI]:
    """The app with its clock fixed 30 hours after the awareness of the test breaches."""
    app.state.clock = lambda: at(30)
    yield app
    del app.state.clock


def record(workspace: Workspace, **changes: object) -> int:
    with transaction(workspace.sessions) as session:
        return record_breach(session, workspace.manifest, facts(**changes), actor="t", clock=lambda: at(1)).id


# --- navigation -------------------------------------------------------------------------------------------------


def nav_links(html: str) -> list[str]:
    nav = re.search(r'<nav class="admin".*?</nav>', html, re.DOTALL)
    assert nav, "no dashboard navigation"
    return re.findall(r'<a href="([^"?]+)', nav.group(0))


def test_navigation_shows_the_registered_pages_that_exist_for_the_role(signed_in: ClientFactory,
                                                                        app: FastAPI) -> None:
    for role, admin_pages in (("admin", True), ("auditor", False)):
        links = nav_links(signed_in(role).get("/admin/breaches").text)
        expected = [e.path for e in navigation.entries()
                    if navigation.serves_page(app.routes, e.path) and (not e.roles or role in e.roles)]
        assert links == expected
        assert {"/admin", "/admin/breaches", "/admin/policy", "/admin/ropa", "/admin/ledger"} <= set(links)
        assert ("/admin/users" in links) is admin_pages


def test_an_entry_appears_once_its_page_exists(signed_in: ClientFactory, app: FastAPI,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(navigation, "_REGISTRY", dict(navigation._REGISTRY))
    navigation.register(navigation.NavEntry("/admin/requests-test", "requests", order=11))
    browser = signed_in("dpo")
    assert "/admin/requests-test" not in nav_links(browser.get("/admin").text)
    app.add_api_route("/admin/requests-test", lambda: {"ok": True}, methods=["GET"])
    assert "/admin/requests-test" in nav_links(browser.get("/admin").text)


def test_the_current_page_is_marked(signed_in: ClientFactory, workspace: Workspace) -> None:
    record(workspace)
    page = signed_in("dpo").get("/admin/breaches/1").text
    assert re.search(r'href="/admin/breaches" aria-current="page"', page)
    assert 'href="/admin" aria-current' not in page


# --- overview ------------------------------------------------------------------------------------------------------


def test_overview_shows_breach_clocks_late_in_red(signed_in: ClientFactory, workspace: Workspace,
                                                  app: FastAPI) -> None:
    record(workspace, title="Running clock")
    record(workspace, title="Documented only", risk="none", risk_reasoning="Encrypted.")
    browser = signed_in("auditor")
    app.state.clock = lambda: at(30)
    running = browser.get("/admin").text
    assert "Running clock" in running and "Documented only" not in running
    assert 'class="clock running"' in running and "42 h 00 min" in running
    app.state.clock = lambda: at(75)
    late = browser.get("/admin").text
    assert 'class="card is-late"' in late and 'class="clock late"' in late and "3 h 00 min" in late
    del app.state.clock


def test_overview_sections_follow_the_modules_present(signed_in: ClientFactory, workspace: Workspace,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    browser = signed_in("dpo")
    monkeypatch.setattr(overview_sections, "consent_module_present", lambda: False)
    monkeypatch.setattr("charte.dashboard.retention.retention_module_present", lambda: False)
    page = browser.get("/admin?lang=en").text
    assert "Consent rates" not in page and "Last retention runs" not in page
    assert "Ledger status" in page
    monkeypatch.setattr("charte.dashboard.retention.retention_module_present", lambda: True)
    assert "No retention run recorded yet." in browser.get("/admin?lang=en").text
    with transaction(workspace.sessions) as session:
        append(session, "retention.swept", {"collection": "crm/prospects", "rows": 42}, actor="job:retention")
    page = browser.get("/admin?lang=en").text
    assert "retention.swept" in page and "rows: 42" in page


def test_another_area_adds_its_overview_section(signed_in: ClientFactory, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    monkeypatch.setattr(overview_sections, "_SECTIONS", dict(overview_sections._SECTIONS))
    (tmp_path / "requests.html").write_text("<section><h2>Requests by due date</h2>{{ data | join(', ') }}</section>")
    from charte.web.templating import templates

    loader = templates.env.loader
    assert loader is not None
    import jinja2

    monkeypatch.setattr(templates.env, "loader", jinja2.ChoiceLoader([loader, jinja2.FileSystemLoader(tmp_path)]))
    register_section(OverviewSection("requests", "requests.html", lambda context: ["R-1 late", "R-2"], order=10))
    page = signed_in("dpo").get("/admin").text
    assert "Requests by due date" in page and "R-1 late, R-2" in page
    assert page.index("Requests by due date") < page.index('id="breaches-heading"')


def test_consent_rates_read_the_consent_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.orm import Session

    from .breach_support import example_manifest

    manifest = example_manifest()
    engine = create_engine(f"sqlite:///{tmp_path / 'consent.db'}")
    with Session(engine) as session:
        assert consent_rates(session, manifest, "fr") == []  # no table yet: nothing to show, nothing invented
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE consent_state (subject_id INTEGER, scope TEXT, key TEXT, "
                                "decision TEXT)"))
        rows = [(i, "category", "analytics", "given" if i < 3 else "refused") for i in range(4)]
        rows += [(i, "category", "advertising", "withdrawn") for i in range(2)]
        rows += [(1, "purpose", "newsletter", "given")]
        connection.execute(text("INSERT INTO consent_state VALUES (:a, :b, :c, :d)"),
                           [dict(zip("abcd", r, strict=True)) for r in rows])
    with Session(engine) as session:
        rates = consent_rates(session, manifest, "en")
        monkeypatch.setattr("charte.dashboard.consents.consent_module_present", lambda: False)
        assert consent_rates(session, manifest, "en") == []
    engine.dispose()
    by_key = {(r.scope, r.key): r for r in rates}
    assert (by_key["category", "analytics"].given, by_key["category", "analytics"].decided) == (3, 4)
    assert by_key["category", "analytics"].percent == 75
    assert by_key["category", "advertising"].percent == 0
    assert by_key["purpose", "newsletter"].percent == 100
    assert [r.scope for r in rates] == ["category", "category", "purpose"]  # categories first, manifest order


# --- breach pages ------------------------------------------------------------------------------------------------


def test_dpo_records_a_breach_and_sees_its_clock(signed_in: ClientFactory, workspace: Workspace,
                                                 clocked: FastAPI) -> None:
    browser = signed_in("dpo")
    token = csrf_token(browser.get("/admin/breaches/new").text)
    created = browser.post("/admin/breaches/new", data=form(token), follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/admin/breaches/1"
    detail = browser.get("/admin/breaches/1?lang=en").text
    assert 'id="breach-clock">42 h 00 min left' in detail
    assert "5 March 2026 at 10:00" in detail  # the deadline, Paris time
    with workspace.sessions() as session:
        breach = get_breach(session, 1)
        types = list(session.scalars(select(LedgerEvent.type)))
    assert breach.facts.subjects_count == 1200 and breach.recorded_by == "admin:dpo-user"
    assert "breach.recorded" in types
    listing = browser.get("/admin/breaches?lang=en").text
    assert "BR-0001" in listing and "42 h 00 min left" in listing


def test_form_errors_keep_what_was_typed(signed_in: ClientFactory, workspace: Workspace, clocked: FastAPI) -> None:
    browser = signed_in("dpo")
    token = csrf_token(browser.get("/admin/breaches/new").text)
    refused = browser.post("/admin/breaches/new", data=form(token, risk_reasoning="", title="Kept title"))
    assert refused.status_code == 400
    assert "the risk level needs its reasoning" in refused.text and 'value="Kept title"' in refused.text
    bad_number = browser.post("/admin/breaches/new", data=form(token, subjects_count="many"))
    assert bad_number.status_code == 400 and "whole number" in bad_number.text
    with workspace.sessions() as session:
        assert session.scalar(select(LedgerEvent.type).where(LedgerEvent.type.like("breach.%"))) is None


def test_auditors_read_but_never_write(signed_in: ClientFactory, workspace: Workspace) -> None:
    record(workspace)
    browser = signed_in("auditor")
    token = csrf_token(browser.get("/admin/breaches").text)
    for path in ("/admin/breaches", "/admin/breaches/1", "/admin/breaches/export.csv", "/admin/breaches/1/cnil.html"):
        assert browser.get(path).status_code == 200, path
    assert browser.get("/admin/breaches/new").status_code == 403
    assert "/admin/breaches/new" not in browser.get("/admin/breaches").text
    for path in ("/admin/breaches/new", "/admin/breaches/1/edit", "/admin/breaches/1/notify",
                 "/admin/breaches/1/inform", "/admin/breaches/1/communication"):
        assert browser.post(path, data=form(token)).status_code == 403, path
    assert 'action="/admin/breaches/1/notify"' not in browser.get("/admin/breaches/1").text


def test_posts_need_the_csrf_token(signed_in: ClientFactory) -> None:
    browser = signed_in("dpo")
    assert browser.post("/admin/breaches/new", data=form("forged")).status_code == 403


def test_notify_late_without_reasons_is_refused_then_accepted(signed_in: ClientFactory, workspace: Workspace,
                                                              app: FastAPI) -> None:
    record(workspace)
    app.state.clock = lambda: at(82)
    browser = signed_in("dpo")
    page = browser.get("/admin/breaches/1?lang=en").text
    assert 'status-late' in page and "10 h 00 min late" in page and "must give the reasons" in page
    token = csrf_token(page)
    data = {"csrf_token": token, "phase": "initial", "submitted_at": "2026-03-05T19:00"}  # 81 h, Paris time
    refused = browser.post("/admin/breaches/1/notify", data=data)
    assert refused.status_code == 400 and "requires the reasons for the delay" in refused.text
    accepted = browser.post("/admin/breaches/1/notify", data={**data, "delay_reasons": "Forensics."},
                            follow_redirects=False)
    assert accepted.status_code == 303
    with workspace.sessions() as session:
        notification = get_breach(session, 1).initial_notification
    assert notification and notification.late and notification.submitted_at == at(81)
    del app.state.clock


def test_edit_records_a_new_version(signed_in: ClientFactory, workspace: Workspace, clocked: FastAPI) -> None:
    record(workspace)
    browser = signed_in("dpo")
    page = browser.get("/admin/breaches/1/edit").text
    assert 'value="Export of the customer file sent to the wrong address"' in page
    changed = form(csrf_token(page), title="Corrected title", change_note="after the interview")
    assert browser.post("/admin/breaches/1/edit", data=changed, follow_redirects=False).status_code == 303
    with workspace.sessions() as session:
        breach = get_breach(session, 1)
    assert [v.version for v in breach.versions] == [1, 2] and breach.facts.title == "Corrected title"
    assert breach.versions[0].facts.title != "Corrected title"


def test_documents_and_the_letter_only_when_required(signed_in: ClientFactory, workspace: Workspace) -> None:
    record(workspace)
    record(workspace, risk="risk", risk_reasoning="Emails only.")
    browser = signed_in("dpo")
    draft = browser.get("/admin/breaches/1/cnil.html")
    assert draft.status_code == 200 and "Notification d'une violation" in draft.text
    csp = draft.headers["content-security-policy"]
    assert "'sha256-" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert browser.get("/admin/breaches/1/letter-en.html").status_code == 200
    assert 'href="/admin/breaches/1/letter-fr.html"' in browser.get("/admin/breaches/1").text
    refused = browser.get("/admin/breaches/2/letter-fr.html")
    assert refused.status_code == 409 and "risk is not high" in refused.text
    assert "letter-fr.html" not in browser.get("/admin/breaches/2").text
    assert browser.get("/admin/breaches/1/letter-de.html").status_code == 404
    assert browser.get("/admin/breaches/9").status_code == 404


def test_inform_people_through_the_outbox(signed_in: ClientFactory, workspace: Workspace) -> None:
    record(workspace)
    browser = signed_in("dpo")
    token = csrf_token(browser.get("/admin/breaches/1").text)
    sent = browser.post("/admin/breaches/1/inform", data={
        "csrf_token": token, "recipients": "email,language\nanne@example.fr,fr\nbob@example.com,en\n"})
    assert sent.status_code == 200 and "2 message(s)" in sent.text
    assert len(list((workspace.settings.home / "outbox").glob("*.eml"))) == 2
    bad = browser.post("/admin/breaches/1/inform", data={"csrf_token": token, "recipients": "email\nnope\n"})
    assert bad.status_code == 400 and "line 2" in bad.text


def test_export_register_csv_and_xlsx(signed_in: ClientFactory, workspace: Workspace) -> None:
    record(workspace)
    browser = signed_in("auditor")
    exported = browser.get("/admin/breaches/export.csv?lang=en")
    assert exported.headers["content-disposition"].startswith('attachment; filename="breach-register-')
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0]["No."] == "BR-0001"
    workbook = load_workbook(io.BytesIO(browser.get("/admin/breaches/export.xlsx").content))
    assert workbook.active is not None and workbook.active["A2"].value == "BR-0001"


def test_rows_are_counted_from_the_form(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = build_crm_database(tmp_path / "crm.db", customers=321, invoices=654, subscribers=0)
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    manifest = yaml.safe_load(settings.manifest_path.read_text(encoding="utf-8"))
    manifest["systems"] = {"crm": {"name": "CRM", "url": "${CRM_DATABASE_URL}", "datasets": [CRM_DATASET]}}
    settings.manifest_path.write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    workspace = Workspace(settings)
    with transaction(workspace.sessions) as session:
        create_user(session, "dpo", PASSWORD, "dpo", actor="test")
    app = create_app(workspace)
    app.state.clock = lambda: at(30)
    with TestClient(app) as browser:
        login(browser, "dpo")
        page = browser.get("/admin/breaches/new").text
        assert 'value="crm/customers"' in page  # the annotated collections are offered
        data = form(csrf_token(page), subjects_count="", records_count="", collection=["crm/customers"],
                    collections_text="crm/invoices", systems=["crm"])
        assert browser.post("/admin/breaches/new", data=data, follow_redirects=False).status_code == 303
        missing = browser.post("/admin/breaches/new", data={**data, "collections_text": "crm/nowhere"})
        assert missing.status_code == 400 and "no collection &#39;nowhere&#39;" in missing.text
    connection = sqlite3.connect(tmp_path / "crm.db")
    customers, invoices = (connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                           for t in ("customers", "invoices"))
    connection.close()
    with workspace.sessions() as session:
        breach = get_breach(session, 1)
    workspace.dispose()
    assert breach.facts.subjects_count == customers == 321
    assert breach.facts.records_count == customers + invoices
    assert breach.facts.counts_method == "counted"


# --- policy versions and RoPA --------------------------------------------------------------------------------------


def test_policy_versions_list_publications(signed_in: ClientFactory, workspace: Workspace) -> None:
    browser = signed_in("auditor")
    assert "has not been published yet" in browser.get("/admin/policy?lang=en").text
    with transaction(workspace.sessions) as session:
        digest = publish_policy(session, workspace.manifest, actor="cli").publication.manifest_sha256
    page = browser.get("/admin/policy?lang=en").text
    assert digest in page and "2020-01-22" in page and "has not been published" not in page


def test_ropa_page_and_downloads(signed_in: ClientFactory, workspace: Workspace) -> None:
    browser = signed_in("auditor")
    page = browser.get("/admin/ropa?lang=en").text
    for purpose in workspace.manifest.purposes.values():
        assert f'id="purpose-{purpose.key}"' in page
    assert "<style" not in page  # the document's own stylesheet stays out (CSP)
    assert browser.get("/admin/ropa.csv").content.startswith(b"\xef\xbb\xbf")
    assert browser.get("/admin/ropa.xlsx").headers["content-type"].startswith("application/vnd.openxml")


def test_clock_times_are_aware(clocked: FastAPI) -> None:
    now: datetime = clocked.state.clock()
    assert now.tzinfo is not None


def test_dashboard_strings_exist_in_both_languages_with_the_same_placeholders() -> None:
    import string

    from charte.breaches.texts import LABELS
    from charte.web.i18n_dashboard import DASHBOARD_STRINGS

    assert set(DASHBOARD_STRINGS["fr"]) == set(DASHBOARD_STRINGS["en"])

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, fr in DASHBOARD_STRINGS["fr"].items():
        assert fields(fr) == fields(DASHBOARD_STRINGS["en"][key]), key
    for key, both in LABELS.items():
        assert set(both) == {"fr", "en"} and fields(both["fr"]) == fields(both["en"]), key
    from charte.web.i18n import strings

    for entry in navigation.entries():  # every navigation entry has its label in both languages
        assert entry.label_key in strings("fr") and entry.label_key in strings("en"), entry
