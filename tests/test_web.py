"""The web app end to end through HTTP: public pages, the JSON API, the dashboard's login, roles and CSRF."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from charte.api import create_app
from charte.auth import MissingSecretKey, SessionSigner, deactivate_user
from charte.config import Settings
from charte.ledger import append, verify
from charte.manifest import tr
from charte.store import transaction
from charte.store.models import AdminUser, ApiToken, LedgerEvent
from charte.workspace import Workspace
from tests.web_support import PASSWORD, csrf_token, login

ClientFactory = Callable[..., TestClient]
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SYSTEMS = """systems:
  pharmacy_erp:
    name: Internal ERP database
    url: ${ERP_DATABASE_URL}
    purposes: [identification]
"""


def ledger_types(workspace: Workspace) -> list[str]:
    with workspace.sessions() as session:
        return list(session.scalars(select(LedgerEvent.type).order_by(LedgerEvent.seq)))


# --- public -----------------------------------------------------------------------------------------------


def test_healthz_reports_store_and_ledger_head(client: TestClient, make_user: Callable[..., AdminUser]) -> None:
    first = client.get("/healthz")
    assert first.status_code == 200
    assert first.json() == {"status": "ok", "database": True, "ledger_head_seq": 0}
    make_user("alice", "admin")
    assert client.get("/healthz").json()["ledger_head_seq"] == 1


def test_healthz_says_unavailable_without_leaking_why(client: TestClient, workspace: Workspace) -> None:
    (workspace.settings.home / "charte.db").unlink()
    for suffix in ("-wal", "-shm"):
        (workspace.settings.home / f"charte.db{suffix}").unlink(missing_ok=True)
    workspace.dispose()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": False, "ledger_head_seq": None}


@pytest.mark.parametrize(("query", "accept", "expected"), [
    ("", None, "fr"),                      # the manifest's default language
    ("?lang=en", None, "en"),
    ("?lang=fr", "en-GB,en;q=0.9", "fr"),   # ?lang= wins over Accept-Language
    ("", "en-US,en;q=0.9,fr;q=0.5", "en"),
    ("", "de-DE,de;q=0.9,fr;q=0.8", "fr"),
    ("?lang=de", "en", "en"),               # an unoffered ?lang= is ignored
])
def test_policy_page_speaks_the_visitors_language(client: TestClient, workspace: Workspace, query: str,
                                                   accept: str | None, expected: str) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get(f"/policy{query}", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == expected
    assert "Accept-Language" in response.headers["vary"]
    assert f'<html lang="{expected}"' in response.text
    manifest = workspace.manifest
    assert tr(manifest.policy.title, expected) in response.text
    other = "en" if expected == "fr" else "fr"
    assert tr(manifest.policy.title, other) not in response.text


def test_policy_page_is_rendered_once_at_startup(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    import charte.api.app as app_module
    from charte.render import render_policy as real

    def counting(manifest, lang, fmt, **kwargs):  # type: ignore[no-untyped-def]
        calls.append((lang, fmt))
        return real(manifest, lang, fmt, **kwargs)

    monkeypatch.setattr(app_module, "render_policy", counting)
    with TestClient(create_app(workspace)) as browser:
        for _ in range(3):
            assert browser.get("/policy?lang=en").status_code == 200
            assert browser.get("/policy?lang=fr").status_code == 200
    assert sorted(calls) == [("en", "html"), ("fr", "html")]


def test_policy_page_csp_admits_its_own_styles_by_hash_only(client: TestClient) -> None:
    response = client.get("/policy")
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "script-src 'self'" in csp
    blocks = re.findall(r"<style[^>]*>(.*?)</style>", response.text, re.DOTALL)
    assert blocks, "the rendered policy carries its stylesheet inline"
    for block in blocks:
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_policy_json_is_the_public_manifest_without_systems(settings: Settings) -> None:
    manifest_file = settings.manifest_path
    text = manifest_file.read_text(encoding="utf-8")
    assert "systems: {}" in text
    manifest_file.write_text(text.replace("systems: {}", SYSTEMS), encoding="utf-8")
    workspace = Workspace(settings)
    assert "pharmacy_erp" in workspace.manifest.systems
    with TestClient(create_app(workspace)) as browser:
        response = browser.get("/api/v1/policy")
    workspace.dispose()
    assert response.status_code == 200
    data = response.json()
    assert "systems" not in data
    for key in ("controller", "dpo", "supervisory_authority", "policy", "languages", "data_categories",
                "data_sources", "data_subjects", "purposes", "recipients", "rights", "cookies", "security_measures"):
        assert key in data, key
    manifest = workspace.manifest
    assert data["controller"]["name"] == manifest.controller.name
    assert data["dpo"]["email"] == manifest.dpo.email
    assert data["supervisory_authority"]["complaint_url"] == manifest.supervisory_authority.complaint_url
    assert data["policy"]["last_modified"] == manifest.policy.last_modified.isoformat()
    assert len(data["policy"]["versions"]) == len(manifest.policy.versions)
    assert set(data["purposes"]) == set(manifest.purposes)
    assert set(data["rights"]) == set(manifest.rights)
    assert "note" not in data["dpo"]  # an internal remark, not part of the published contact
    # Nothing naming the internal system leaks through any other field either.
    for needle in ("pharmacy_erp", "ERP_DATABASE_URL", "Internal ERP database"):
        assert needle not in response.text


def test_privacy_center_links_only_to_what_exists(client: TestClient, workspace: Workspace) -> None:
    response = client.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert '<html lang="en"' in response.text
    assert 'href="/policy?lang=en"' in response.text and 'href="/policy?lang=fr"' in response.text
    assert f"mailto:{workspace.manifest.dpo.email}" in response.text
    assert "/preferences" not in response.text and "/requests" not in response.text
    for href in re.findall(r'href="(/[^"]*)"', response.text):
        assert client.get(href).status_code == 200, href


def test_openapi_documents_the_json_api_not_the_dashboard(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/healthz", "/api/v1/policy", "/api/v1/whoami"} <= set(paths)
    assert not [p for p in paths if p.startswith("/admin")]


def test_security_headers(client: TestClient) -> None:
    public = client.get("/")
    assert public.headers["x-content-type-options"] == "nosniff"
    assert public.headers["referrer-policy"]
    assert "'unsafe-inline'" not in public.headers["content-security-policy"]
    assert "script-src 'self'" in public.headers["content-security-policy"]
    admin = client.get("/admin/login")
    assert admin.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in admin.headers["content-security-policy"]
    assert admin.headers["cache-control"] == "no-store"
    assert client.get("/static/charte.css").headers["x-content-type-options"] == "nosniff"
    api = client.get("/api/v1/policy")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert api.headers["cache-control"] == "no-store"
    assert "referrer-policy" not in api.headers


def test_app_refuses_to_start_without_a_secret_key(workspace: Workspace) -> None:
    workspace.settings = workspace.settings.model_copy(update={"secret_key": None})
    with pytest.raises(MissingSecretKey):
        create_app(workspace)


# --- login ------------------------------------------------------------------------------------------------


def test_anonymous_dashboard_redirects_to_login_or_401_for_json(client: TestClient) -> None:
    for path in ("/admin", "/admin/ledger", "/admin/users"):
        response = client.get(path, headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login?next=")
        json_response = client.get(path, headers={"Accept": "application/json"}, follow_redirects=False)
        assert json_response.status_code == 401
        assert json_response.json() == {"detail": "authentication required"}


def test_login_sets_a_protected_session_cookie_and_records_it(client: TestClient, workspace: Workspace,
                                                               make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "dpo")
    response = login(client, "alice", next="/admin/ledger")
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/ledger"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("charte_session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in attributes  # CHARTE_SECURE_COOKIES is off by default (plain HTTP in dev)
    page = client.get("/admin")
    assert page.status_code == 200
    assert "alice" in page.text
    assert ledger_types(workspace)[-1] == "admin.login"


def test_secure_cookies_setting_marks_cookies_secure(workspace: Workspace,
                                                     make_user: Callable[..., AdminUser]) -> None:
    workspace.settings = workspace.settings.model_copy(update={"secure_cookies": True})
    make_user("alice", "dpo")
    with TestClient(create_app(workspace), base_url="https://testserver") as browser:
        form = browser.get("/admin/login")
        assert "secure" in form.headers["set-cookie"].lower()
        response = login(browser, "alice")
        assert response.status_code == 303
        cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("charte_session="))
        assert "; secure" in cookie.lower()


def test_open_redirect_after_login_is_refused(client: TestClient, make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "dpo")
    for target in ("https://evil.example/", "//evil.example/admin", "/policy"):
        client.cookies.clear()
        assert login(client, "alice", next=target).headers["location"] == "/admin"


def test_wrong_password_is_refused_without_a_session(client: TestClient, workspace: Workspace,
                                                     make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "dpo")
    response = login(client, "alice", "definitely wrong")
    assert response.status_code == 401
    assert "charte_session" not in response.headers.get("set-cookie", "")
    assert "Identifiant ou mot de passe incorrect" in response.text
    assert client.get("/admin", headers=HTML, follow_redirects=False).status_code == 303
    assert ledger_types(workspace)[-1] == "admin.login_failed"


def test_sixth_attempt_is_locked_out_even_with_the_right_password(client: TestClient,
                                                                  make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "dpo")
    for _ in range(5):
        assert login(client, "alice", "definitely wrong").status_code == 401
    locked = login(client, "alice", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "charte_session" not in locked.headers.get("set-cookie", "")
    assert "Trop de tentatives" in locked.text


def test_login_without_csrf_token_is_forbidden(client: TestClient, make_user: Callable[..., AdminUser]) -> None:
    make_user("alice", "dpo")
    client.get("/admin/login")
    no_token = client.post("/admin/login", data={"username": "alice", "password": PASSWORD},
                           follow_redirects=False)
    assert no_token.status_code == 403
    other = TestClient(client.app)  # a token from another browser's form does not fit this browser's cookie
    stolen = csrf_token(other.get("/admin/login").text)
    assert client.post("/admin/login", data={"username": "alice", "password": PASSWORD, "csrf_token": stolen},
                       follow_redirects=False).status_code == 403


def test_password_is_stored_hashed_and_never_logged(client: TestClient, workspace: Workspace,
                                                   make_user: Callable[..., AdminUser],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    make_user("alice", "admin")
    assert login(client, "alice", "a wrong password here").status_code == 401
    assert login(client, "alice").status_code == 303
    admin_page = client.get("/admin/users")
    secret_new = "the second secret passphrase"
    client.post("/admin/users", data={"username": "bob", "password": secret_new, "role": "dpo",
                                      "csrf_token": csrf_token(admin_page.text)})
    with workspace.sessions() as session:
        hashes = list(session.scalars(select(AdminUser.password_hash)))
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") for h in hashes)
    raw = b"".join(p.read_bytes() for p in workspace.settings.home.glob("charte.db*"))
    for secret in (PASSWORD, "a wrong password here", secret_new):
        assert secret.encode() not in raw
        assert secret not in caplog.text
        assert all(secret not in record.getMessage() for record in caplog.records)
    assert caplog.records, "the test should have captured the app's log records"


# --- sessions ---------------------------------------------------------------------------------------------


def test_tampered_foreign_and_expired_session_cookies_are_refused(app: FastAPI, workspace: Workspace,
                                                                  make_user: Callable[..., AdminUser]) -> None:
    user = make_user("alice", "admin")
    secret = workspace.settings.secret_key
    assert secret is not None
    max_age = workspace.settings.session_max_age
    valid = SessionSigner(secret, max_age=max_age).issue(user.id, "admin")[1]
    payload, _, signature = valid.rpartition(".")
    expired = SessionSigner(secret, max_age=max_age, clock=lambda: time.time() - max_age - 60).issue(user.id,
                                                                                                      "admin")[1]
    forged_role = SessionSigner(secret, max_age=max_age).issue(user.id, "dpo")[1]  # role no longer matches
    foreign = SessionSigner("another key of sufficient length 1234567", max_age=max_age).issue(user.id, "admin")[1]
    cases = {
        "valid": (valid, 200),
        "tampered": (payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:], 303),
        "expired": (expired, 303),
        "role changed": (forged_role, 303),
        "other key": (foreign, 303),
        "garbage": ("not-a-session", 303),
    }
    for name, (value, status) in cases.items():
        with TestClient(app, cookies={"charte_session": value}) as browser:
            assert browser.get("/admin", headers=HTML, follow_redirects=False).status_code == status, name


def test_deactivated_user_loses_the_session_at_once(signed_in: ClientFactory, workspace: Workspace) -> None:
    browser = signed_in("dpo", "dora")
    assert browser.get("/admin").status_code == 200
    with transaction(workspace.sessions) as session:
        deactivate_user(session, "dora", actor="test")
    assert browser.get("/admin", headers=HTML, follow_redirects=False).status_code == 303


def test_logout_needs_csrf_and_ends_the_session(signed_in: ClientFactory) -> None:
    browser = signed_in("auditor")
    assert browser.post("/admin/logout", follow_redirects=False).status_code == 403
    token = csrf_token(browser.get("/admin").text)
    response = browser.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"
    assert browser.get("/admin", headers=HTML, follow_redirects=False).status_code == 303


# --- roles and CSRF ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "dpo", "auditor"])
def test_every_role_reads_the_overview_and_ledger(signed_in: ClientFactory, workspace: Workspace,
                                                  role: str) -> None:
    browser = signed_in(role)
    overview = browser.get("/admin")
    assert overview.status_code == 200
    assert workspace.manifest.controller.name in overview.text
    assert workspace.manifest.policy.last_modified.isoformat() in overview.text
    with workspace.sessions() as session:
        head = verify(session).head_hash
    assert head in overview.text
    ledger = browser.get("/admin/ledger")
    assert ledger.status_code == 200
    assert "admin.login" in ledger.text and "admin.user_created" in ledger.text


@pytest.mark.parametrize("role", ["dpo", "auditor"])
def test_users_and_tokens_are_for_admins_only(signed_in: ClientFactory, role: str) -> None:
    browser = signed_in(role)
    token = csrf_token(browser.get("/admin").text)
    assert browser.get("/admin/users").status_code == 403
    assert browser.get("/admin/tokens").status_code == 403
    created = browser.post("/admin/users", data={"username": "mallory", "password": PASSWORD, "role": "admin",
                                                 "csrf_token": token})
    assert created.status_code == 403
    assert browser.post("/admin/tokens", data={"name": "x", "csrf_token": token}).status_code == 403
    assert "admin/users" not in browser.get("/admin").text  # no link to what the role cannot open


def test_auditor_posts_are_forbidden_even_with_a_valid_csrf_token(signed_in: ClientFactory,
                                                                  workspace: Workspace) -> None:
    browser = signed_in("auditor")
    token = csrf_token(browser.get("/admin").text)
    before = ledger_types(workspace)
    for path, data in [("/admin/users", {"username": "x", "password": PASSWORD, "role": "dpo"}),
                       ("/admin/tokens", {"name": "x"}), ("/admin/tokens/revoke", {"name": "x"})]:
        assert browser.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert ledger_types(workspace) == before


def test_admin_post_without_or_with_a_wrong_csrf_token_is_forbidden(signed_in: ClientFactory,
                                                                    workspace: Workspace) -> None:
    browser = signed_in("admin")
    form = {"username": "bob", "password": PASSWORD, "role": "dpo"}
    assert browser.post("/admin/users", data=form).status_code == 403
    assert browser.post("/admin/users", data={**form, "csrf_token": "forged"}).status_code == 403
    with workspace.sessions() as session:
        assert session.scalars(select(AdminUser).where(AdminUser.username == "bob")).first() is None


def test_admin_creates_a_user_who_can_then_sign_in(signed_in: ClientFactory, app: FastAPI,
                                                   workspace: Workspace) -> None:
    browser = signed_in("admin")
    token = csrf_token(browser.get("/admin/users").text)
    weak = browser.post("/admin/users", data={"username": "bob", "password": "short", "role": "dpo",
                                              "csrf_token": token})
    assert weak.status_code == 400 and "12" in weak.text
    created = browser.post("/admin/users", data={"username": "bob", "password": PASSWORD, "role": "auditor",
                                                 "csrf_token": token}, follow_redirects=False)
    assert created.status_code == 303
    listing = browser.get(created.headers["location"])
    assert "bob" in listing.text and "auditeur" in listing.text
    duplicate = browser.post("/admin/users", data={"username": "BOB", "password": PASSWORD, "role": "dpo",
                                                   "csrf_token": token})
    assert duplicate.status_code == 409
    with TestClient(app) as bob:
        assert login(bob, "bob").status_code == 303
    assert "admin.user_created" in ledger_types(workspace)


def test_dashboard_speaks_english_on_request(signed_in: ClientFactory) -> None:
    browser = signed_in("admin")
    assert '<html lang="fr"' in browser.get("/admin").text
    english = browser.get("/admin?lang=en")
    assert '<html lang="en"' in english.text and "Event ledger" in english.text
    assert 'href="/admin/ledger?lang=en"' in english.text
    assert '<html lang="en"' in browser.get("/admin/ledger", headers={"Accept-Language": "en"}).text


def test_ledger_pages_through_older_events(signed_in: ClientFactory, workspace: Workspace) -> None:
    with transaction(workspace.sessions) as session:
        for i in range(60):
            append(session, "test.event", {"i": i}, actor="test")
    browser = signed_in("auditor")
    first = browser.get("/admin/ledger")
    total = len(ledger_types(workspace))
    assert f"<td>{total}</td>" in first.text and "<td>1</td>" not in first.text
    older = re.search(r'href="(/admin/ledger\?before=\d+)" rel="next"', first.text)
    assert older
    second = browser.get(older.group(1))
    assert "<td>1</td>" in second.text
    assert 'rel="prev"' in second.text


# --- API tokens -------------------------------------------------------------------------------------------


def test_api_token_shown_once_stored_hashed_whoami_and_revocation(signed_in: ClientFactory, client: TestClient,
                                                                   workspace: Workspace) -> None:
    browser = signed_in("admin")
    token = csrf_token(browser.get("/admin/tokens").text)
    created = browser.post("/admin/tokens", data={"name": "crm", "scopes": "consent:write consent:read",
                                                  "csrf_token": token})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    match = re.search(r'value="(chrt_[0-9a-f]{8}_[A-Za-z0-9_-]{43})"', created.text)
    assert match
    clear = match.group(1)
    with workspace.sessions() as session:
        stored = session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hashlib.sha256(clear.encode()).hexdigest()
    assert clear not in browser.get("/admin/tokens").text  # never shown again

    whoami = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {clear}"})
    assert whoami.status_code == 200
    assert whoami.json() == {"name": "crm", "prefix": stored.prefix, "scopes": ["consent:read", "consent:write"]}

    assert client.get("/api/v1/whoami").status_code == 401
    assert client.get("/api/v1/whoami").headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/whoami", headers={"Authorization": "Bearer chrt_nope"}).status_code == 401
    assert client.get("/api/v1/whoami", headers={"Authorization": f"Basic {clear}"}).status_code == 401

    revoked = browser.post("/admin/tokens/revoke", data={"name": "crm", "csrf_token": token},
                           follow_redirects=False)
    assert revoked.status_code == 303
    refused = client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {clear}"})
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert [t for t in ledger_types(workspace) if t.startswith("api_token.")] == ["api_token.created",
                                                                                   "api_token.revoked"]
