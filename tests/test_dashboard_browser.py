"""The dashboard in Debian's Chromium: log in, overview, record a breach, its clock, export; axe-core on every page.

Screenshots of the overview and the breach pages (laptop and phone widths) are written to ``build/screenshots/``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from charte.store.models import AdminUser
from charte.workspace import Workspace
from tests.web_support import PASSWORD

from .conftest import ROOT

SCREENSHOTS = ROOT / "build" / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page_for(browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """``page_for(username, lang, viewport)``: a new browser context signed in to the dashboard."""
    contexts = []

    def open_page(username: str, lang: str = "fr", viewport: dict[str, int] = LAPTOP, login: bool = True) -> Any:
        context = browser.new_context(viewport=viewport, locale=lang, accept_downloads=True,
                                      extra_http_headers={"Accept-Language": lang})
        contexts.append(context)
        page = context.new_page()
        if not login:
            return page
        page.goto(f"{live_server}/admin")
        assert "/admin/login" in page.url
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{live_server}/admin")
        return page

    yield open_page
    for context in contexts:
        context.close()


def shoot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_record_a_breach_see_its_clock_and_export_the_register(page_for: Callable[..., Any], live_server: str,
                                                                make_user: Callable[..., AdminUser],
                                                                tmp_path: Path) -> None:
    make_user("delphine", "dpo")
    page = page_for("delphine", "fr")
    assert page.locator("h1").inner_text() == "Vue d'ensemble"
    assert page.locator("nav.admin a[aria-current=page]").inner_text() == "Vue d'ensemble"
    shoot(page, "overview-empty")

    page.click("nav.admin >> text=Violations")
    page.click("text=Enregistrer une violation")
    page.fill("#title", "Fichier clients envoyé à un mauvais destinataire")
    page.check("#nature-confidentiality")
    page.fill("#description", "Export envoyé par erreur à une adresse extérieure.")
    page.check("label:has-text('Adresse e-mail')")
    page.check("label:has-text('Prospects')")
    page.fill("#subjects_count", "850")
    page.fill("#records_count", "850")
    page.fill("#consequences", "Risque d'hameçonnage ciblé.")
    page.fill("#measures_taken", "Le destinataire a confirmé la suppression.")
    page.check("#risk-high")
    page.fill("#risk_reasoning", "Adresses et historique d'achats de 850 prospects.")
    page.click("form.breach-form button[type=submit]")

    page.wait_for_url(f"{live_server}/admin/breaches/1")
    assert page.locator("h1").inner_text().startswith("BR-0001 — Fichier clients")
    clock = page.locator("#breach-clock").inner_text()
    assert clock.startswith(("71 h", "72 h")) and clock.endswith("restantes")
    assert page.locator("#breach-status").inner_text() == "Notification à faire"
    shoot(page, "breach-detail")

    page.goto(f"{live_server}/admin")
    card = page.locator("ul.cards li").first
    assert "BR-0001" in card.inner_text() and "restantes" in card.inner_text()
    shoot(page, "overview")

    page.goto(f"{live_server}/admin/breaches")
    shoot(page, "breaches")
    with page.expect_download() as csv_download:
        page.click("text=Exporter le registre (CSV)")
    target = tmp_path / "register.csv"
    csv_download.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0]["N°"] == "BR-0001" and rows[0]["Nombre approximatif de personnes"] == "850"
    with page.expect_download() as xlsx_download:
        page.click("text=Exporter le registre (XLSX)")
    xlsx = tmp_path / "register.xlsx"
    xlsx_download.value.save_as(xlsx)
    workbook = load_workbook(xlsx)
    assert workbook.active is not None and workbook.active["A2"].value == "BR-0001"

    phone = page_for("delphine", "en", PHONE)
    phone.goto(f"{live_server}/admin/breaches/1")
    assert phone.locator("#breach-clock").inner_text().endswith("left")
    # Nothing wider than the screen but the tables, which scroll inside their own region.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    shoot(phone, "breach-detail-phone")
    phone.goto(f"{live_server}/admin")
    shoot(phone, "overview-phone")


PAGES = ["/admin", "/admin/breaches", "/admin/breaches/new", "/admin/breaches/1", "/admin/breaches/1/edit",
         "/admin/ledger", "/admin/users", "/admin/tokens", "/admin/ropa", "/admin/policy"]
DOCUMENTS = ["/admin/breaches/1/cnil.html", "/admin/breaches/1/letter-fr.html", "/admin/breaches/1/letter-en.html"]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_finds_no_violation_on_the_dashboard(page_for: Callable[..., Any], live_server: str,
                                                 make_user: Callable[..., AdminUser], workspace: Workspace,
                                                 lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from charte.breaches import record_breach
    from charte.dashboard import ConsentRate, OverviewSection, register_section
    from charte.dashboard import sections as overview_sections
    from charte.store import transaction

    from .breach_support import facts

    # The chart is checked with figures in it, whatever the consent module has recorded in this workspace.
    monkeypatch.setattr(overview_sections, "_SECTIONS", dict(overview_sections._SECTIONS))
    rates = [ConsentRate("category", "analytics", "Mesure d'audience", 62, 100),
             ConsentRate("category", "advertising", "Publicité ciblée", 9, 100),
             ConsentRate("purpose", "newsletter", "Lettre d'information", 40, 50)]
    register_section(OverviewSection("consents", "admin/overview/consents.html", lambda context: rates, order=30))

    with transaction(workspace.sessions) as session:
        record_breach(session, workspace.manifest, facts(), actor="test")  # late by now: the red clock is checked
    make_user("alice", "admin")
    axe = Axe()
    failures = {}
    login = page_for("nobody-yet", lang, login=False)
    login.goto(f"{live_server}/admin/login")
    if (results := axe.run(login)).violations_count:
        failures["/admin/login"] = results.generate_report()
    page = page_for("alice", lang)
    # Every page of the navigation too, so the pages other areas add are held to the same bar.
    hrefs = page.eval_on_selector_all("nav.admin a", "links => links.map(a => a.getAttribute('href'))")
    nav = [href.split("?")[0] for href in hrefs]
    for path in dict.fromkeys(PAGES + nav + DOCUMENTS):
        page.goto(f"{live_server}{path}")
        results = axe.run(page)
        if results.violations_count:
            failures[path] = results.generate_report()
    assert not failures, "\n\n".join(f"{path}:\n{report}" for path, report in failures.items())
    for path in ("/admin", "/admin/breaches/1"):
        page.set_viewport_size(PHONE)
        page.goto(f"{live_server}{path}")
        results = axe.run(page)
        assert results.violations_count == 0, results.generate_report()
