"""Consent over HTTP: the banner script, the public consent API (CORS, 422s, GPC), token routes, pages and links."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from charte.api import create_app
from charte.api.headers import PUBLIC_CSP
from charte.auth import create_token
from charte.config import Settings
from charte.consent import Choice, Collection, CollectionMethod, Decision, Scope, parse_subject, record_choices
from charte.consent.demo import seed_demo_consents
from charte.consent.links import LinkSigner, unsubscribe_link
from charte.consent.rate_limit import RateLimiter
from charte.store import transaction
from charte.store.consent import ConsentEvent, ConsentNotice, ConsentSubject
from charte.web.banner import SIZE_BUDGET
from charte.workspace import Workspace, init_workspace
from tests.consent_support import Clock, Seconds, revised_cookies
from tests.web_support import csrf_token

CID = "AbCdEfGhIjKlMnOpQrStUv"
HTML = {"Accept": "text/html"}


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    """The app's clock, moved by the test."""
    fixed = Clock()
    app.state.clock = fixed
    return fixed


@pytest.fixture
def token(workspace: Workspace) -> Callable[..., dict[str, str]]:
    """``token("consent:read")``: Authorization headers of a new API token with those scopes."""
    made: list[str] = []

    def make(*scopes: str) -> dict[str, str]:
        with transaction(workspace.sessions) as session:
            _, clear = create_token(session, f"t{len(made)}", scopes, created_by=None, actor="test")
        made.append(clear)
        return {"Authorization": f"Bearer {clear}"}

    return make


def banner_version(client: TestClient) -> str:
    match = re.search(r'"ver":"([0-9a-f]{64})"', client.get("/banner.js").text)
    assert match
    return match.group(1)


def post_choices(client: TestClient, body: Any, **headers: str) -> Any:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/api/v1/consent", content=raw, headers={"Content-Type": "text/plain;charset=UTF-8",
                                                                 **headers})


def events(workspace: Workspace) -> list[ConsentEvent]:
    with workspace.sessions() as session:
        return list(session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)))


# --- the banner script ------------------------------------------------------------------------------------


def test_banner_script_is_served_from_the_manifest_within_budget(client: TestClient, workspace: Workspace) -> None:
    plain = client.get("/banner.js", headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert plain.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "content-encoding" not in plain.headers
    text = plain.text
    for expected in ("Tout refuser", "Reject all", "Cookies analytiques", "_pk_id", "_fbp", "Matomo",
                     "Pixel Facebook", "globalPrivacyControl", 'data-category', "adoptedStyleSheets"):
        assert expected in text, expected
    assert "__CONFIG__" not in text and "// " not in text.split("\n", 1)[0]
    zipped = client.get("/banner.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) <= SIZE_BUDGET
    assert len(gzip.compress(text.encode(), 9)) <= SIZE_BUDGET
    again = client.get("/banner.js", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
    css = client.get("/banner.css")
    assert css.headers["content-type"].startswith("text/css") and ".b{" in css.text


def test_the_banner_revision_follows_the_cookie_section_only(workspace: Workspace) -> None:
    from charte.consent.notices import cookie_revision
    from charte.manifest import Duration

    manifest = workspace.manifest
    same_cookies = manifest.model_copy(update={"default_language": "en"})
    assert cookie_revision(same_cookies) == cookie_revision(manifest)
    cookies = manifest.cookies.model_copy(update={"consent_lifetime": Duration(months=3)})
    assert cookie_revision(manifest.model_copy(update={"cookies": cookies})) != cookie_revision(manifest)


# --- the public consent API -------------------------------------------------------------------------------


def test_banner_choices_are_recorded_with_minimised_metadata(client: TestClient, workspace: Workspace,
                                                             clock: Clock) -> None:
    version = banner_version(client)
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    response = post_choices(client, {"consent_id": CID, "choices": {"analytics": True, "advertising": False,
                                                                    "functional": False},
                                     "banner_version": version, "lang": "fr"}, **{"User-Agent": firefox})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert body["choices"] == {"analytics": True, "advertising": False, "functional": False}
    assert body["version"] > 0 and len(body["revision"]) == 12
    recorded = events(workspace)
    assert [(e.key, e.decision, e.method, e.user_agent, e.lang) for e in recorded] == [
        ("analytics", "given", "banner", "Firefox 128", "fr"),
        ("advertising", "refused", "banner", "Firefox 128", "fr"),
        ("functional", "refused", "banner", "Firefox 128", "fr")]
    assert {e.notice_version for e in recorded} == {version}
    with workspace.sessions() as session:
        notice = session.get(ConsentNotice, version)
        assert notice is not None and "Tout refuser" in notice.content
    state = client.get(f"/api/v1/consent/{CID}")
    assert state.json()["choices"] == body["choices"] and state.headers["access-control-allow-origin"] == "*"
    assert client.get("/api/v1/consent/not-a-consent-id").status_code == 422
    clock.advance(days=200)  # the CNIL's six months have passed
    assert client.get(f"/api/v1/consent/{CID}").json()["choices"]["analytics"] is False


@pytest.mark.parametrize(("body", "location", "message"), [
    ("{not json", ["body"], "JSON"),
    ({"consent_id": "short", "choices": {"analytics": True}}, ["body", "consent_id"], "pattern"),
    ({"consent_id": CID, "choices": {"cookies_of_mars": True}}, ["body", "choices", "cookies_of_mars"],
     "unknown cookie category 'cookies_of_mars'; the banner asks about functional, analytics, advertising"),
    ({"consent_id": CID, "choices": {"necessary": False}}, ["body", "choices", "necessary"],
     "is required and needs no consent"),
    ({"consent_id": CID, "choices": {}}, ["body", "choices"], "no choice was sent"),
    ({"consent_id": CID, "choices": {"analytics": "maybe"}}, ["body", "choices", "analytics"], "boolean"),
    ({"consent_id": CID, "choices": {"analytics": True}, "tracking": 1}, ["body", "tracking"], "Extra inputs"),
    ({"consent_id": CID, "choices": {"analytics": True}, "method": "api"}, ["body", "method"], "'banner'"),
])
def test_invalid_choices_get_a_clear_422(client: TestClient, workspace: Workspace, body: Any, location: list[str],
                                         message: str) -> None:
    if isinstance(body, dict):
        body = {"banner_version": banner_version(client), **body}
    response = post_choices(client, body)
    assert response.status_code == 422, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    detail = response.json()["detail"]
    assert any(d["loc"][:len(location)] == location and message in d["msg"] for d in detail), detail
    assert events(workspace) == []


def test_a_stale_banner_is_told_to_reload_and_huge_bodies_are_refused(client: TestClient,
                                                                      workspace: Workspace) -> None:
    stale = post_choices(client, {"consent_id": CID, "choices": {"analytics": True}, "banner_version": "0" * 64})
    assert stale.status_code == 409 and "reload" in stale.json()["detail"]
    huge = post_choices(client, "x" * 5000)
    assert huge.status_code == 413
    assert events(workspace) == []


def test_sec_gpc_refuses_advertising_as_a_gpc_event(client: TestClient, workspace: Workspace) -> None:
    response = post_choices(client, {"consent_id": CID, "choices": {"analytics": True, "advertising": True},
                                     "banner_version": banner_version(client)}, **{"Sec-GPC": "1"})
    assert response.json()["choices"] == {"analytics": True, "advertising": False}
    assert [(e.key, e.decision, e.method) for e in events(workspace)] == [("analytics", "given", "banner"),
                                                                          ("advertising", "refused", "gpc")]
    # A GPC signal alone (no choice made yet) is recorded too.
    other = post_choices(client, {"consent_id": "Z" * 22, "choices": {}, "gpc": True,
                                  "banner_version": banner_version(client)})
    assert other.status_code == 200 and other.json()["choices"] == {"advertising": False}


def test_preflight_and_json_clients_are_welcome(client: TestClient, workspace: Workspace) -> None:
    preflight = client.options("/api/v1/consent", headers={"Origin": "https://www.example.com",
                                                           "Access-Control-Request-Method": "POST",
                                                           "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    response = client.post("/api/v1/consent", json={"consent_id": CID, "choices": {"functional": True},
                                                    "banner_version": banner_version(client)})
    assert response.status_code == 200


def subjects(workspace: Workspace) -> list[str]:
    with workspace.sessions() as session:
        return list(session.scalars(select(ConsentSubject.key).order_by(ConsentSubject.id)))


def test_the_public_consent_api_is_rate_limited_per_network(app: FastAPI, workspace: Workspace) -> None:
    seconds = Seconds()
    app.state.consent_limiter = RateLimiter(3, 60, clock=seconds)  # one post every 20 s once 3 are spent
    ids = iter(f"{n:022d}" for n in range(100))

    def choices(browser: TestClient) -> Any:
        return post_choices(browser, {"consent_id": next(ids), "choices": {"analytics": True},
                                      "banner_version": banner_version(browser)})

    with (TestClient(app, client=("192.0.2.10", 50000)) as first,
          TestClient(app, client=("192.0.2.200", 50001)) as neighbour,  # the same /24: the same allowance
          TestClient(app, client=("198.51.100.7", 50002)) as elsewhere,
          TestClient(app, client=("2001:db8:1:2::5", 50003)) as six,
          TestClient(app, client=("2001:db8:1:ffff::9", 50004)) as six_neighbour):  # the same /48
        assert [choices(first).status_code, choices(first).status_code, choices(neighbour).status_code] == [200] * 3
        recorded, people = len(events(workspace)), subjects(workspace)
        assert recorded == 3

        refused = choices(first)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "20"
        assert refused.headers["access-control-allow-origin"] == "*"  # the banner runs on other sites
        assert refused.headers["access-control-expose-headers"] == "Retry-After"
        assert refused.headers["cache-control"] == "no-store"
        assert refused.json() == {"detail": "too many consent choices were sent from this network: nothing was "
                                            "recorded; try again in 20 seconds"}
        assert choices(neighbour).status_code == 429
        assert post_choices(neighbour, "{not json").status_code == 429  # counted before anything is read
        assert len(events(workspace)) == recorded and subjects(workspace) == people  # nothing recorded

        assert choices(elsewhere).status_code == 200  # another network is unaffected
        assert [choices(six).status_code for _ in range(3)] == [200] * 3
        assert choices(six_neighbour).status_code == 429
        assert first.get(f"/api/v1/consent/{people[0].split(':', 1)[1]}").status_code == 200  # reads are not limited

        seconds.now += 19
        assert choices(first).status_code == 429
        seconds.now += 1  # Retry-After has passed: one more post
        assert choices(first).status_code == 200
        assert choices(neighbour).headers["retry-after"] == "20"
        seconds.now += 60  # a whole minute: the burst again
        assert [choices(neighbour).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert len(events(workspace)) == recorded + 1 + 3 + 1 + 3


def test_the_rate_limit_is_a_setting_and_0_disables_it(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().consent_rate_limit == 300
    monkeypatch.setenv("CHARTE_CONSENT_RATE_LIMIT", "0")
    assert Settings().consent_rate_limit == 0
    monkeypatch.setenv("CHARTE_CONSENT_RATE_LIMIT", "-1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings()

    workspace.settings.consent_rate_limit = 2
    with TestClient(create_app(workspace)) as client:
        version = banner_version(client)
        sent = [post_choices(client, {"consent_id": f"{n:022d}", "choices": {"functional": True},
                                      "banner_version": version}) for n in range(3)]
        assert [r.status_code for r in sent] == [200, 200, 429]
        assert sent[2].headers["retry-after"] == "30"  # 2 a minute: one every 30 s (the real clock)
    workspace.settings.consent_rate_limit = 0
    app = create_app(workspace)
    with TestClient(app) as client:
        version = banner_version(client)
        sent = [post_choices(client, {"consent_id": f"{n:022d}", "choices": {"functional": True},
                                      "banner_version": version}) for n in range(10, 80)]
        assert {r.status_code for r in sent} == {200}
        assert app.state.consent_limiter is None
    assert len(events(workspace)) == 2 + 70


# --- token routes -----------------------------------------------------------------------------------------


def test_permission_checks_need_a_token_with_the_read_scope(client: TestClient, token: Callable[..., dict[str, str]],
                                                             workspace: Workspace) -> None:
    url = "/api/v1/permissions?subject=alice@example.org&purpose=newsletter"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer chrt_00000000_" + "a" * 43}).status_code == 401
    assert client.get(url, headers=token("consent:write")).status_code == 403
    reader = token("consent:read")
    answer = client.get(url, headers=reader)
    assert answer.status_code == 200
    assert answer.json() | {"decided_at": None} == {
        "subject": "alice@example.org", "purpose": "newsletter", "allowed": False, "reason": "consent_missing",
        "legal_basis": "consent", "source": None, "decided_at": None, "expires_at": None}
    unknown = client.get("/api/v1/permissions?subject=alice@example.org&purpose=mind_reading", headers=reader)
    assert unknown.json()["reason"] == "purpose_unknown" and unknown.json()["allowed"] is False
    contract = client.get("/api/v1/permissions?subject=customer:C-1&purpose=sales_billing", headers=reader)
    assert contract.json()["allowed"] is True and contract.json()["reason"] == "contract"
    bad = client.get("/api/v1/permissions?subject=nobody&purpose=newsletter", headers=reader)
    assert bad.status_code == 422 and "not a subject" in bad.json()["detail"]
    missing = client.get("/api/v1/permissions?purpose=newsletter", headers=reader)
    assert missing.status_code == 422
    assert [(e["loc"], e["type"]) for e in missing.json()["detail"]] == [(["query", "subject"], "missing")]
    assert client.get("/api/v1/permissions", headers=reader).json()["detail"][1]["loc"] == ["query", "purpose"]
    assert client.get("/api/v1/permissions").status_code == 401  # the token is checked first
    bearer = reader["Authorization"].split(" ", 1)[1]
    assert client.get(url, headers={"Authorization": f"bearer  {bearer}"}).status_code == 200
    assert client.get(url, headers={"Authorization": f"Basic {bearer}"}).status_code == 401
    # An answer about a person: no cache keeps it, nothing loads from it.
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_permission_checks_over_http_on_a_postgresql_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           postgres_url: str) -> None:
    # On SQLite the check reads on the event loop; elsewhere it waits for the database in the thread pool.
    for name in list(os.environ):
        if name.startswith("CHARTE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHARTE_DATABASE_URL", postgres_url)
    workspace = Workspace(init_workspace(tmp_path / "ws"))
    try:
        with transaction(workspace.sessions) as session:
            _, clear = create_token(session, "crm", ["consent:read"], created_by=None, actor="test")
            record_choices(session, workspace.manifest, parse_subject("alice@example.org"),
                           [Choice(Scope.purpose, "newsletter", Decision.given)],
                           Collection(CollectionMethod.api, "test"))
        reader = {"Authorization": f"Bearer {clear}"}
        with TestClient(create_app(workspace)) as client:
            for who, reason in (("alice@example.org", "consent_given"), ("bob@example.org", "consent_missing")):
                answer = client.get(f"/api/v1/permissions?subject={who}&purpose=newsletter", headers=reader)
                assert answer.status_code == 200 and answer.json()["reason"] == reason
            batch = client.post("/api/v1/permissions", headers=reader, json={
                "purpose": "newsletter", "subjects": ["alice@example.org", "bob@example.org"]})
            assert [r["allowed"] for r in batch.json()["results"]] == [True, False]
    finally:
        workspace.dispose()


def test_decisions_batches_links_and_proofs(client: TestClient, token: Callable[..., dict[str, str]],
                                            workspace: Workspace, clock: Clock) -> None:
    reader, writer = token("consent:read"), token("consent:write")
    sent = {"subject": "Alice@Example.org", "form_version": "signup-2026",
            "decisions": [{"purpose": "newsletter", "decision": "given"},
                          {"purpose": "campaign_offers", "decision": "refused"}]}
    assert client.post("/api/v1/consents", json=sent, headers=reader).status_code == 403
    recorded = client.post("/api/v1/consents", json=sent, headers=writer)
    assert recorded.status_code == 200, recorded.text
    assert [r["decision"] for r in recorded.json()["recorded"]] == ["given", "refused"]
    wrong = client.post("/api/v1/consents", headers=writer, json={
        "subject": "alice@example.org", "decisions": [{"purpose": "accounting", "decision": "given"}]})
    assert wrong.status_code == 422 and "legal_obligation" in wrong.json()["detail"]
    assert client.post("/api/v1/consents", headers=writer, json={
        "subject": f"visitor:{CID}", "decisions": [{"purpose": "newsletter", "decision": "given"}]}).status_code == 422

    batch = client.post("/api/v1/permissions", headers=reader, json={
        "purpose": "newsletter", "subjects": ["alice@example.org", "bob@example.org", "not-an-email"]})
    assert batch.status_code == 200
    body = batch.json()
    assert body["count"] == 3 and body["allowed"] == 1
    assert [r["reason"] for r in body["results"]] == ["consent_given", "consent_missing", "subject_invalid"]

    post_choices(client, {"consent_id": CID, "choices": {"analytics": True}, "banner_version": banner_version(client)})
    link = client.post("/api/v1/consents/link", headers=writer, json={"consent_id": CID,
                                                                       "subject": "alice@example.org"})
    assert link.json()["carried_over"] == 1
    relink = client.post("/api/v1/consents/link", headers=writer, json={"consent_id": CID,
                                                                         "subject": "eve@example.org"})
    assert relink.status_code == 409
    state = client.get("/api/v1/consents/email:alice@example.org", headers=reader).json()
    assert {(s["scope"], s["key"], s["decision"]) for s in state["state"]} == {
        ("purpose", "newsletter", "given"), ("purpose", "campaign_offers", "refused"),
        ("category", "analytics", "given")}
    proof = client.get("/api/v1/consents/email:alice@example.org/proof", headers=reader)
    assert proof.status_code == 200 and len(proof.json()["events"]) == 4
    assert client.get("/api/v1/consents/email:nobody@example.org/proof", headers=reader).status_code == 404
    assert client.get("/api/v1/consents/email:alice@example.org/proof").status_code == 401
    clock.advance(days=365 * 3 + 1)
    expired = client.get("/api/v1/permissions?subject=alice@example.org&purpose=newsletter", headers=reader)
    assert expired.json()["reason"] == "consent_expired"


def test_a_changed_cookie_section_voids_earlier_cookie_consent_over_the_api(
        client: TestClient, token: Callable[..., dict[str, str]], workspace: Workspace, tmp_path: Path) -> None:
    reader, writer = token("consent:read"), token("consent:write")
    first = post_choices(client, {"consent_id": CID, "choices": {"analytics": True, "advertising": False},
                                  "banner_version": banner_version(client)}).json()
    client.post("/api/v1/consents", headers=writer, json={
        "subject": "alice@example.org", "decisions": [{"purpose": "audience_measurement", "decision": "given"}]})
    measure = f"/api/v1/permissions?subject=visitor:{CID}&purpose=audience_measurement"
    assert client.get(measure, headers=reader).json()["reason"] == "consent_given"

    # The same store, served from a manifest whose cookie section changed (Matomo's service).
    settings = workspace.settings.model_copy(update={"manifest": revised_cookies(workspace.settings.manifest_path,
                                                                                 tmp_path / "revised.yaml")})
    revised = Workspace(settings)
    try:
        with TestClient(create_app(revised)) as later:
            answer = later.get(measure, headers=reader).json()
            assert answer["allowed"] is False and answer["reason"] == "consent_outdated"
            assert answer["source"] == "category:analytics" and answer["expires_at"] is None
            ads = later.get(f"/api/v1/permissions?subject=visitor:{CID}&purpose=targeted_advertising",
                            headers=reader).json()
            assert ads["reason"] == "consent_refused"
            # A purpose decision collected by a form is not tied to the banner.
            alice = later.get("/api/v1/permissions?subject=alice@example.org&purpose=audience_measurement",
                              headers=reader).json()
            assert alice["reason"] == "consent_given"
            batch = later.post("/api/v1/permissions", headers=reader, json={
                "purpose": "audience_measurement", "subjects": [f"visitor:{CID}", "alice@example.org"]}).json()
            assert [r["reason"] for r in batch["results"]] == ["consent_outdated", "consent_given"]
            # The banner's sync agrees: nothing is granted under the new revision until the visitor answers again.
            synced = later.get(f"/api/v1/consent/{CID}").json()
            assert synced["revision"] != first["revision"]
            assert synced["choices"] == {"analytics": False, "advertising": False}
            again = post_choices(later, {"consent_id": CID, "choices": {"analytics": True, "advertising": False},
                                         "banner_version": banner_version(later)})
            assert again.json()["choices"] == {"analytics": True, "advertising": False}
            assert later.get(measure, headers=reader).json()["reason"] == "consent_given"
            proof = later.get(f"/api/v1/consents/visitor:{CID}/proof", headers=reader).json()
            assert {s["key"]: s["state"] for s in proof["state"]} == {"analytics": "given", "advertising": "refused"}
    finally:
        revised.dispose()
    # Back under the original cookie section, consent given for the revised one does not count either.
    assert client.get(measure, headers=reader).json()["reason"] == "consent_outdated"


def test_openapi_documents_the_consent_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/consent", "/api/v1/consent/{consent_id}", "/api/v1/permissions", "/api/v1/consents",
                 "/api/v1/consents/link", "/api/v1/consents/links", "/api/v1/consents/{subject}/proof"):
        assert path in paths, path
    assert "text/plain" in paths["/api/v1/consent"]["post"]["requestBody"]["content"]
    check = paths["/api/v1/permissions"]["get"]  # read by hand, documented all the same
    assert [(p["name"], p["in"], p["required"]) for p in check["parameters"]] == [
        ("subject", "query", True), ("purpose", "query", True)]
    assert check["security"] == [{"ApiToken": []}]
    assert check["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PermissionAnswer")
    assert "Retry-After" in paths["/api/v1/consent"]["post"]["responses"]["429"]["description"]
    assert "consent_outdated" in client.get("/openapi.json").json()["components"]["schemas"]["PermissionAnswer"][
        "properties"]["reason"]["description"]


# --- preferences and unsubscribe --------------------------------------------------------------------------


def test_preferences_by_signed_link_with_one_click_withdrawal_and_objection(
        client: TestClient, token: Callable[..., dict[str, str]], workspace: Workspace, clock: Clock) -> None:
    writer = token("consent:write")
    client.post("/api/v1/consents", headers=writer, json={
        "subject": "alice@example.org", "decisions": [{"purpose": "newsletter", "decision": "given"}]})
    anonymous = client.get("/preferences?lang=en")
    assert anonymous.status_code == 200
    assert anonymous.headers["content-security-policy"] == PUBLIC_CSP
    assert '<script src="/banner.js" defer></script>' in anonymous.text and "data-charte-panel" in anonymous.text
    assert "follow the secure link" in anonymous.text

    link = client.post("/api/v1/consents/links", headers=writer,
                       json={"subject": "alice@example.org", "lang": "en"}).json()["url"]
    assert link.startswith("http://testserver/preferences?token=")
    opened = client.get(link.removeprefix("http://testserver"), follow_redirects=False)
    assert opened.status_code == 303 and "token" not in opened.headers["location"]
    assert "charte_preferences=" in opened.headers["set-cookie"] and "HttpOnly" in opened.headers["set-cookie"]
    page = client.get(opened.headers["location"])
    assert page.headers["cache-control"] == "no-store"
    assert "Choices recorded for alice@example.org." in page.text
    assert "Withdraw my consent — Information newsletters" in page.text
    assert "Object — Customer satisfaction surveys" in page.text
    form_token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert form_token
    done = client.post("/preferences", data={"token": form_token.group(1), "purpose": "newsletter",
                                             "action": "withdraw", "lang": "en"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("done=withdrawn#purpose-newsletter")
    client.post("/preferences", data={"token": form_token.group(1), "purpose": "satisfaction_surveys",
                                      "action": "object", "lang": "en"})
    after = client.get("/preferences?lang=en&done=objected")
    assert "Your objection is recorded." in after.text and "consent withdrawn on" in after.text
    recorded = events(workspace)[-2:]
    assert [(e.key, e.decision, e.method) for e in recorded] == [("newsletter", "withdrawn", "preferences"),
                                                                 ("satisfaction_surveys", "objected", "preferences")]
    with workspace.sessions() as session:
        notice = session.get(ConsentNotice, recorded[0].notice_version)
        assert notice is not None and notice.kind == "preferences" and "Withdraw my consent" in notice.content

    forged = client.post("/preferences", data={"token": "forged", "purpose": "newsletter", "action": "give"})
    assert forged.status_code == 400
    signer = LinkSigner(workspace.settings.secret_key, clock=lambda: (clock.now - timedelta(days=8)).timestamp())
    old = signer.preferences_token(parse_subject("alice@example.org"))
    expired = TestClient(client.app).get(f"/preferences?token={old}&lang=en")
    assert expired.status_code == 400 and "This link has expired." in expired.text


def test_unsubscribe_link_records_a_withdrawal_without_login(client: TestClient, workspace: Workspace) -> None:
    signer = LinkSigner(workspace.settings.secret_key)
    alice = parse_subject("alice@example.org")
    url = unsubscribe_link(signer, workspace.manifest, "http://testserver", alice, "newsletter")
    path = url.removeprefix("http://testserver")
    confirm = client.get(path + "&lang=en")
    assert confirm.status_code == 200 and "Confirm unsubscribing" in confirm.text
    assert events(workspace) == []  # a mail scanner opening the link changes nothing
    done = client.post(path + "&lang=en")
    assert done.status_code == 200 and "you will no longer receive" in done.text
    # RFC 8058 one-click, as a mail client sends it: nothing more to withdraw, nothing recorded twice.
    one_click = client.post(path, content="List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200
    assert [(e.key, e.decision, e.method) for e in events(workspace)] == [("newsletter", "refused", "email_link")]
    assert client.get("/unsubscribe?token=forged").status_code == 400
    assert client.post("/unsubscribe?token=forged").status_code == 400


# --- the dashboard page -----------------------------------------------------------------------------------


def test_consents_page_shows_rates_a_record_and_makes_links(signed_in: Callable[..., TestClient],
                                                            client: TestClient, workspace: Workspace) -> None:
    assert client.get("/admin/consents", headers=HTML, follow_redirects=False).status_code == 303
    with transaction(workspace.sessions) as session:
        seed_demo_consents(session, workspace.manifest, visitors=60, identified=12)
        someone = session.scalars(select(ConsentSubject.key).where(ConsentSubject.kind == "email")).first()
    dpo = signed_in("dpo")
    page = dpo.get("/admin/consents?lang=en")
    assert page.status_code == 200
    assert page.text.count('<svg viewBox="0 0 720 280"') == 2 and "<polyline" in page.text
    assert "Analytical cookies" in page.text and "Information newsletters" in page.text
    assert 'aria-current="page"' in page.text  # the navigation entry of the dashboard frame
    record = dpo.get(f"/admin/consents?subject={someone}&lang=en")
    assert "consent_" in record.text and "Download the proof of consent" in record.text
    proof = dpo.get(f"/admin/consents/proof?subject={someone}")
    assert proof.status_code == 200 and proof.json()["pii_principal"]["kind"] == "email"
    assert "attachment" in proof.headers["content-disposition"]
    made = dpo.post("/admin/consents/preferences-link?lang=en", data={
        "subject": "bob@example.org", "csrf_token": csrf_token(page.text)})
    assert made.status_code == 200 and "http://testserver/preferences?token=" in made.text
    assert dpo.post("/admin/consents/preferences-link", data={"subject": "bob@example.org"}).status_code == 403
    auditor = signed_in("auditor", "audrey")
    looked = auditor.get("/admin/consents")
    assert looked.status_code == 200 and "preferences-link" not in looked.text
    denied = auditor.post("/admin/consents/preferences-link", data={"subject": "bob@example.org",
                                                                    "csrf_token": csrf_token(looked.text)})
    assert denied.status_code == 403


def test_a_rights_restriction_denies_every_purpose_over_the_api(client: TestClient,
                                                                token: Callable[..., dict[str, str]],
                                                                workspace: Workspace) -> None:
    from charte.ledger import utcnow
    from charte.rights.identity import Identity
    from charte.rights.restriction import restrict

    reader = token("consent:read")
    url = "/api/v1/permissions?subject=alice@example.org&purpose=sales_billing"
    assert client.get(url, headers=reader).json()["allowed"] is True
    with transaction(workspace.sessions) as session:
        restrict(session, Identity(email="alice@example.org"), request=None, reason="accuracy contested",
                 actor="test", clock=utcnow)
    answer = client.get(url, headers=reader).json()
    assert answer["allowed"] is False and answer["reason"].startswith("restrict")
    batch = client.post("/api/v1/permissions", headers=reader,
                        json={"purpose": "sales_billing", "subjects": ["alice@example.org", "bob@example.org"]}).json()
    assert [r["allowed"] for r in batch["results"]] == [False, True]
