"""The cookie banner in Debian's Chromium: no tracker before consent, equal choices, GPC, withdrawal, revisions, axe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy import select

from charte.api import create_app
from charte.consent import Collection, CollectionMethod, record_cookie_choices
from charte.store import transaction
from charte.store.consent import ConsentEvent, ConsentSubject
from charte.workspace import Workspace
from tests.consent_support import add_host_site, wait_until
from tests.web_support import serving

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

GPC_SCRIPT = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"


@pytest.fixture
def site(app: FastAPI, live_server: str) -> dict[str, str]:
    """Charte at 127.0.0.1 and the test host page, same-origin and on another origin (localhost)."""
    add_host_site(app)
    port = live_server.rsplit(":", 1)[1]
    return {
        "charte": live_server,
        "same_origin": f"{live_server}/test-host/page.html",
        "other_origin": f"http://localhost:{port}/test-host/page.html",
    }


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (no cookies) per test."""
    ctx = browser.new_context()
    yield ctx
    ctx.close()


class Watch:
    """What a page asked for and what it was refused by its CSP."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        self.csp: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("console", lambda msg: self.csp.append(msg.text) if "Content Security Policy" in msg.text else None)

    def trackers(self) -> list[str]:
        return [u for u in self.urls if u.endswith(("matomo.js", "fbpixel.js"))]


def open_page(context: Any, url: str) -> tuple[Any, Watch]:
    page = context.new_page()
    watch = Watch(page)
    page.goto(url)
    return page, watch


def banner(page: Any) -> Any:
    return page.locator("#charte-banner [role=dialog]")


def cookie_names(context: Any, host: str) -> set[str]:
    return {c["name"] for c in context.cookies() if c["domain"].lstrip(".") == host}


def consent_cookie(context: Any, host: str) -> dict[str, Any]:
    from urllib.parse import unquote

    value = next(c["value"] for c in context.cookies() if c["name"] == "charte_consent" and c["domain"] == host)
    data: dict[str, Any] = json.loads(unquote(value))
    return data


def events_of(workspace: Workspace, consent_id: str) -> list[ConsentEvent]:
    with workspace.sessions() as session:
        subject = session.scalars(select(ConsentSubject).where(ConsentSubject.key == f"visitor:{consent_id}")).first()
        if subject is None:
            return []
        target = subject.linked_to or subject.id
        return list(session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id == target)
                                    .order_by(ConsentEvent.id)))


def ran(page: Any) -> dict[str, bool]:
    result: dict[str, bool] = page.evaluate("() => window.__ran || {}")
    return result


def test_no_tracker_before_consent_and_reject_all_is_one_click(context: Any, site: dict[str, str],
                                                               workspace: Workspace) -> None:
    page, watch = open_page(context, site["other_origin"])
    dialog = banner(page)
    dialog.wait_for()
    assert dialog.get_attribute("aria-labelledby") == "ct"
    assert watch.trackers() == [] and ran(page) == {}
    assert cookie_names(context, "localhost") == set()  # nothing before a choice, not even the consent cookie
    reject = page.get_by_role("button", name="Tout refuser")
    accept = page.get_by_role("button", name="Tout accepter")
    # "Reject all" is exactly as prominent as "Accept all": same size, colours and weight, side by side.
    style = "el => { const s = getComputedStyle(el); return [s.backgroundColor, s.color, s.fontSize, s.fontWeight," \
            " s.borderTopWidth, s.paddingTop, el.offsetHeight] }"
    assert reject.evaluate(style) == accept.evaluate(style)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/consent") and r.request.method == "POST") as posted:
        reject.click()
    assert posted.value.status == 200
    assert posted.value.headers["access-control-allow-origin"] == "*"
    assert not dialog.is_visible()
    assert cookie_names(context, "localhost") == {"charte_consent"}
    assert watch.trackers() == [] and ran(page) == {}
    consent_id = consent_cookie(context, "localhost")["i"]
    recorded = {(e.key, e.decision, e.method) for e in events_of(workspace, consent_id)}
    assert recorded == {("functional", "refused", "banner"), ("analytics", "refused", "banner"),
                        ("advertising", "refused", "banner")}
    page.reload()
    page.wait_for_load_state("networkidle")
    assert not banner(page).is_visible()
    assert watch.trackers() == [] and ran(page) == {}
    assert watch.csp == []


def test_accepting_analytics_only_runs_the_analytics_script_only(context: Any, site: dict[str, str],
                                                                  workspace: Workspace) -> None:
    page, watch = open_page(context, site["other_origin"])
    banner(page).wait_for()
    customise = page.get_by_role("button", name="Personnaliser")
    assert customise.get_attribute("aria-expanded") == "false"
    customise.click()
    assert customise.get_attribute("aria-expanded") == "true"
    assert page.get_by_role("checkbox", name="Cookies nécessaires").is_disabled()
    page.get_by_role("checkbox", name="Cookies analytiques").check()
    page.get_by_role("button", name="Enregistrer mes choix").click()
    page.wait_for_function("() => window.__ran && window.__ran.analytics")
    assert ran(page) == {"analytics": True}
    assert [u.rsplit("/", 1)[1] for u in watch.trackers()] == ["matomo.js"]
    assert cookie_names(context, "localhost") == {"charte_consent", "_pk_id.1.abcd", "_pk_ses.1.abcd"}
    consent_id = consent_cookie(context, "localhost")["i"]
    wait_until(lambda: len(events_of(workspace, consent_id)) == 3)
    decisions = {e.key: e.decision for e in events_of(workspace, consent_id)}
    assert decisions == {"functional": "refused", "analytics": "given", "advertising": "refused"}
    page.reload()
    page.wait_for_function("() => window.__ran && window.__ran.analytics")
    assert ran(page) == {"analytics": True}
    assert not banner(page).is_visible()
    page.get_by_role("link", name="Cookies").click()  # the site's own link reopens the choices, as they stand
    banner(page).wait_for()
    assert page.get_by_role("checkbox", name="Cookies analytiques").is_checked()
    assert not page.get_by_role("checkbox", name="Cookies publicitaires").is_checked()


def test_withdrawal_from_preferences_stops_the_tracker_and_deletes_its_cookies(context: Any, site: dict[str, str],
                                                                               workspace: Workspace) -> None:
    page, _ = open_page(context, site["same_origin"])
    banner(page).wait_for()
    page.get_by_role("button", name="Tout accepter").click()
    page.wait_for_function("() => window.__ran && window.__ran.analytics && window.__ran.advertising")
    assert {"_pk_id.1.abcd", "_pk_ses.1.abcd", "_fbp"} <= cookie_names(context, "127.0.0.1")
    consent_id = consent_cookie(context, "127.0.0.1")["i"]

    prefs, prefs_watch = open_page(context, f"{site['charte']}/preferences?lang=fr")
    analytics = prefs.get_by_role("checkbox", name="Cookies analytiques")
    analytics.wait_for()
    assert analytics.is_checked()
    analytics.uncheck()
    prefs.get_by_role("button", name="Enregistrer mes choix").click()
    prefs.get_by_role("status").filter(has_text="Vos choix sont enregistrés").wait_for()
    names = cookie_names(context, "127.0.0.1")
    assert "_pk_id.1.abcd" not in names and "_pk_ses.1.abcd" not in names
    assert "_fbp" in names and "charte_consent" in names
    wait_until(lambda: any(e.decision == "withdrawn" for e in events_of(workspace, consent_id)))
    withdrawn = [e for e in events_of(workspace, consent_id) if e.decision == "withdrawn"]
    assert [(e.key, e.method) for e in withdrawn] == [("analytics", "preferences")]
    assert prefs_watch.csp == []

    again, again_watch = open_page(context, site["same_origin"])
    again.wait_for_function("() => window.__ran && window.__ran.advertising")
    again.wait_for_load_state("networkidle")
    assert ran(again) == {"advertising": True}
    assert [u.rsplit("/", 1)[1] for u in again_watch.trackers()] == ["fbpixel.js"]
    assert "_pk_id.1.abcd" not in cookie_names(context, "127.0.0.1")


def test_a_withdrawal_recorded_elsewhere_reaches_a_site_on_another_origin(context: Any, site: dict[str, str],
                                                                           workspace: Workspace) -> None:
    page, _ = open_page(context, site["other_origin"])
    banner(page).wait_for()
    page.get_by_role("button", name="Tout accepter").click()
    page.wait_for_function("() => window.__ran && window.__ran.analytics")
    consent_id = consent_cookie(context, "localhost")["i"]
    wait_until(lambda: consent_cookie(context, "localhost").get("v", 0) > 0)
    with transaction(workspace.sessions) as session:  # e.g. from another device linked to the same person
        record_cookie_choices(session, workspace.manifest, consent_id, {"analytics": False},
                              Collection(CollectionMethod.preferences, "visitor"))
    again, watch = open_page(context, site["other_origin"])
    again.wait_for_function("() => window.__ran && window.__ran.advertising")
    again.wait_for_load_state("networkidle")
    assert ran(again) == {"advertising": True}
    assert not any(u.endswith("matomo.js") for u in watch.urls)
    assert "_pk_id.1.abcd" not in cookie_names(context, "localhost")
    assert consent_cookie(context, "localhost")["g"] == ["functional", "advertising"]


def test_gpc_refuses_advertising_without_asking(browser: Any, site: dict[str, str], workspace: Workspace) -> None:
    context = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
    context.add_init_script(GPC_SCRIPT)
    try:
        page = context.new_page()
        watch = Watch(page)
        with page.expect_response(lambda r: r.url.endswith("/api/v1/consent") and r.request.method == "POST"):
            page.goto(site["other_origin"])
        consent_id = consent_cookie(context, "localhost")["i"]
        events = events_of(workspace, consent_id)
        assert [(e.key, e.decision, e.method) for e in events] == [("advertising", "refused", "gpc")]
        banner(page).wait_for()  # still asked about the other categories
        page.get_by_role("button", name="Personnaliser").click()
        advertising = page.get_by_role("checkbox", name="Cookies publicitaires")
        assert advertising.is_disabled() and not advertising.is_checked()
        page.get_by_role("button", name="Tout accepter").click()
        page.wait_for_function("() => window.__ran && window.__ran.analytics")
        page.wait_for_load_state("networkidle")
        assert ran(page) == {"analytics": True}
        assert not any(u.endswith("fbpixel.js") for u in watch.urls)
        assert "_fbp" not in cookie_names(context, "localhost")
        wait_until(lambda: len(events_of(workspace, consent_id)) == 4)
        last = {e.key: (e.decision, e.method) for e in events_of(workspace, consent_id)[1:]}
        assert last == {"functional": ("given", "banner"), "analytics": ("given", "banner"),
                        "advertising": ("refused", "gpc")}
    finally:
        context.close()


def test_the_banner_asks_again_after_a_manifest_revision(context: Any, site: dict[str, str], workspace: Workspace,
                                                         tmp_path: Path) -> None:
    page, _ = open_page(context, site["same_origin"])
    banner(page).wait_for()
    page.get_by_role("button", name="Tout accepter").click()
    page.reload()
    page.wait_for_function("() => window.__ran && window.__ran.analytics")
    assert not banner(page).is_visible()
    revision = consent_cookie(context, "127.0.0.1")["r"]

    # The cookie section changes (a new Matomo cookie): the same store, a new app built from the new manifest.
    data = yaml.safe_load(workspace.settings.manifest_path.read_text(encoding="utf-8"))
    data["cookies"]["categories"]["analytics"]["services"]["matomo"]["cookies"].append(
        {"name": "_pk_ref", "lifetime": "P6M"})
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = workspace.settings.model_copy(update={"manifest": changed})
    revised = Workspace(settings)
    revised_app = create_app(revised)
    add_host_site(revised_app)
    try:
        with serving(revised_app) as port:  # same host 127.0.0.1, so the same cookies
            fresh, watch = open_page(context, f"http://127.0.0.1:{port}/test-host/page.html")
            banner(fresh).wait_for()
            assert watch.trackers() == [] and ran(fresh) == {}
            fresh.get_by_role("button", name="Tout refuser").click()
            assert consent_cookie(context, "127.0.0.1")["r"] != revision
    finally:
        revised.engine.dispose()


def test_keyboard_alone_reaches_and_uses_the_banner(context: Any, site: dict[str, str],
                                                    workspace: Workspace) -> None:
    page, _ = open_page(context, site["other_origin"])
    banner(page).wait_for()
    # The banner takes focus when it opens, so a keyboard or screen-reader user meets it first.
    assert page.evaluate("() => document.activeElement.id") == "charte-banner"
    page.keyboard.press("Tab")  # the policy link
    page.keyboard.press("Tab")  # Reject all
    focused = "() => document.activeElement.shadowRoot.activeElement.textContent"
    assert page.evaluate(focused) == "Tout refuser"
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "Tout accepter"
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__ran && window.__ran.analytics && window.__ran.advertising")
    assert not banner(page).is_visible()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_finds_no_violation_on_the_banner(context: Any, site: dict[str, str], lang: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page, watch = open_page(context, f"{site['other_origin']}?lang={lang}")
    banner(page).wait_for()
    assert page.get_by_role("button", name="Tout refuser" if lang == "fr" else "Reject all").is_visible()
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    page.get_by_role("button", name="Personnaliser" if lang == "fr" else "Customise").click()
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    assert watch.csp == []


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_finds_no_violation_on_preferences(context: Any, site: dict[str, str], workspace: Workspace,
                                               lang: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from charte.consent import parse_subject
    from charte.consent.links import LinkSigner, preferences_link

    signer = LinkSigner(workspace.settings.secret_key)
    link = preferences_link(signer, site["charte"], parse_subject("email:alice@example.org"), lang=lang)
    for url in (f"{site['charte']}/preferences?lang={lang}", link):
        page, watch = open_page(context, url)
        page.locator("[data-charte-panel] [role=region]").wait_for()
        results = Axe().run(page)
        assert results.violations_count == 0, f"{url}\n{results.generate_report()}"
        assert watch.csp == [], watch.csp
        page.close()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_finds_no_violation_on_the_consents_dashboard(context: Any, site: dict[str, str], workspace: Workspace,
                                                          make_user: Any, lang: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from charte.consent.demo import seed_demo_consents
    from tests.web_support import PASSWORD

    with transaction(workspace.sessions) as session:
        seed_demo_consents(session, workspace.manifest, visitors=40, identified=8)
        someone = session.scalars(select(ConsentSubject.key).where(ConsentSubject.kind == "email")).first()
    make_user("dora", "dpo")
    page = context.new_page()
    page.goto(f"{site['charte']}/admin/login?lang={lang}")
    page.fill("#username", "dora")
    page.fill("#password", PASSWORD)
    page.locator("form.stacked button[type=submit]").click()
    page.wait_for_url("**/admin**")
    for url in (f"/admin/consents?lang={lang}", f"/admin/consents?lang={lang}&subject={someone}"):
        page.goto(site["charte"] + url)
        assert page.locator("svg polyline").count() >= 2
        results = Axe().run(page)
        assert results.violations_count == 0, f"{url}\n{results.generate_report()}"
