"""The request form in Debian's Chromium: submitting, following the emailed link, and axe on every page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from charte.api import create_app
from charte.config import Settings
from charte.workspace import Workspace
from tests.rights_support import Received, body, link_in, settings_with_smtp, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def smtp() -> Iterator[tuple[str, Received]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def app(settings: Settings, smtp: tuple[str, Received]) -> Iterator[FastAPI]:
    """The app served by ``live_server``, sending its mail to the aiosmtpd server."""
    workspace = Workspace(settings_with_smtp(settings, smtp[0]))
    yield create_app(workspace)
    workspace.engine.dispose()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context()
    yield ctx
    ctx.close()


def test_a_request_submitted_in_chromium_is_confirmed_by_the_emailed_link(context: Any, live_server: str,
                                                                         smtp: tuple[str, Received]) -> None:
    _, mail = smtp
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server}/requests/new?lang=fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.get_by_label("Droit de retirer votre consentement").check()
    page.get_by_label("Adresse e-mail *").fill("zoe@example.org")
    page.get_by_label("Lettres d'information").check()
    page.get_by_role("button", name="Envoyer la demande").click()
    page.wait_for_url("**/requests/verify?**")
    assert "Confirmez votre adresse e-mail" in page.content()
    link = link_in(mail.wait_for("zoe@example.org", 1)[-1])
    assert link.startswith(live_server + "/requests/link?token=")
    page.goto(link)
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url("**/requests/R-*")
    # Withdrawing consent is approved automatically: the letter follows without the DPO.
    letter = mail.wait_for("zoe@example.org", 2)[-1]
    assert "Lettres d'information — consentement retiré" in body(letter)
    page.reload()
    assert page.locator("#request-state").get_attribute("data-state") == "completed"
    assert "consentement retiré" in page.content()
    assert csp_errors == []


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_finds_no_violation_on_the_request_pages(context: Any, live_server: str, lang: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page = context.new_page()
    for path in (f"/requests/new?lang={lang}", f"/requests/signin?lang={lang}",
                 f"/requests/verify?reference=R-0000-0000&lang={lang}"):
        page.goto(live_server + path)
        assert page.locator("html").get_attribute("lang") == lang
        results = Axe().run(page)
        assert results.violations_count == 0, f"{path}\n{results.generate_report()}"
    # The form with errors: each message is tied to its field, and the page stays accessible.
    page.goto(f"{live_server}/requests/new?lang={lang}")
    page.get_by_role("button", name="Envoyer la demande" if lang == "fr" else "Send the request").click()
    email = page.locator("#field-email")
    assert email.get_attribute("aria-invalid") == "true"
    assert "error-email" in (email.get_attribute("aria-describedby") or "")
    assert page.locator("#error-summary[role=alert]").is_visible()
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
