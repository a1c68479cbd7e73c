"""A subject sees and acts on their own requests only; links expire and resist tampering; codes have few tries."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from charte.api import create_app
from charte.auth import create_user
from charte.config import Settings
from charte.ledger import utcnow, verify
from charte.rights import RightsSigner
from charte.store import transaction
from charte.store.models import LedgerEvent
from charte.workspace import Workspace
from tests.rights_support import (
    FakeExecutor,
    Received,
    code_in,
    dpo_post,
    file_url,
    follow_link,
    link_in,
    open_space,
    reference_of,
    settings_with_smtp,
    smtp_server,
    state_of,
    submit,
    verify_with_code,
    walk,
)
from tests.web_support import PASSWORD, csrf_token, login


@pytest.fixture
def smtp() -> Iterator[tuple[str, Received]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def mail(smtp: tuple[str, Received]) -> Received:
    return smtp[1]


@pytest.fixture
def ws(settings: Settings, smtp: tuple[str, Received]) -> Iterator[Workspace]:
    workspace = Workspace(settings_with_smtp(settings, smtp[0]))
    with transaction(workspace.sessions) as session:
        create_user(session, "dpo-user", PASSWORD, "dpo", actor="test")
        create_user(session, "auditor-user", PASSWORD, "auditor", actor="test")
    yield workspace
    workspace.dispose()


@pytest.fixture
def rights_app(ws: Workspace) -> FastAPI:
    app = create_app(ws)
    app.state.rights_executor = FakeExecutor()
    return app


def browser(app: FastAPI) -> TestClient:
    return TestClient(app)


@pytest.fixture
def dpo(rights_app: FastAPI) -> Iterator[TestClient]:
    with browser(rights_app) as client:
        assert login(client, "dpo-user").status_code == 303
        yield client


@pytest.fixture
def two_subjects(rights_app: FastAPI, ws: Workspace, dpo: TestClient,
                 mail: Received) -> Iterator[tuple[TestClient, str, str, TestClient, str, str]]:
    """Alice and Bob, each signed in with an answered access request: (client, reference, page) each."""
    with browser(rights_app) as alice, browser(rights_app) as bob:
        ref_a, letter_a = walk(ws, alice, dpo, mail, "access", "alice@example.org")
        ref_b, letter_b = walk(ws, bob, dpo, mail, "access", "bob@example.org")
        page_a, page_b = open_space(alice, letter_a), open_space(bob, letter_b)
        yield alice, ref_a, page_a, bob, ref_b, page_b


def _subject_routes() -> set[tuple[str, str]]:
    from charte.api import requests_public

    found = set()
    for route in requests_public.router.routes:
        path, methods = getattr(route, "path", ""), getattr(route, "methods", None) or set()
        if "{reference}" in path and not path.startswith("/admin"):
            found |= {(method, path) for method in methods - {"HEAD"}}
    return found


def test_a_subject_cannot_read_download_or_act_on_another_subjects_request(
        rights_app: FastAPI, two_subjects: tuple[TestClient, str, str, TestClient, str, str]) -> None:
    alice, ref_a, page_a, bob, ref_b, page_b = two_subjects
    token_a = csrf_token(page_a)
    bob_file = file_url(page_b, "report.json")
    bob_token = bob_file.split("token=", 1)[1]
    attempts: dict[tuple[str, str], Callable[[str], httpx.Response]] = {
        ("GET", "/requests/{reference}"): lambda ref: alice.get(f"/requests/{ref}"),
        ("GET", "/requests/{reference}/files/{name}"):
            lambda ref: alice.get(f"/requests/{ref}/files/report.json?token={bob_token}"),
        ("POST", "/requests/{reference}/document"):
            lambda ref: alice.post(f"/requests/{ref}/document", data={"csrf_token": token_a},
                                   files={"file": ("id.pdf", b"%PDF-1.4", "application/pdf")}),
        ("POST", "/requests/{reference}/cancel"):
            lambda ref: alice.post(f"/requests/{ref}/cancel", data={"csrf_token": token_a}, follow_redirects=False),
        ("GET", "/api/v1/requests/{reference}"): lambda ref: alice.get(f"/api/v1/requests/{ref}"),
    }
    # Every route that takes a request reference is attacked here: a new route without a test fails this line.
    assert set(attempts) == _subject_routes()
    for route, attempt in attempts.items():
        response: httpx.Response = attempt(ref_b)
        assert response.status_code == 404, (route, response.status_code, response.text[:300])
        assert "bob@example.org" not in response.text
    # The same routes answer for Alice's own request: the refusals above are about ownership, not breakage.
    assert alice.get(f"/requests/{ref_a}").status_code == 200
    assert alice.get(f"/api/v1/requests/{ref_a}").json()["reference"] == ref_a
    assert alice.get(file_url(page_a, "report.json")).status_code == 200
    # Bob's token does not open Alice's file either: it names Bob's request.
    assert alice.get(f"/requests/{ref_a}/files/report.json?token={bob_token}").status_code == 403
    # Alice's list has her request only.
    mine = alice.get("/requests/mine").text
    assert ref_a in mine and ref_b not in mine
    assert bob.get(bob_file).status_code == 200


def test_without_a_session_nothing_is_shown(rights_app: FastAPI,
                                            two_subjects: tuple[TestClient, str, str, TestClient, str, str]) -> None:
    _, ref_a, page_a, _, _, _ = two_subjects
    with browser(rights_app) as stranger:
        assert stranger.get(f"/requests/{ref_a}").status_code == 404
        assert stranger.get(file_url(page_a, "report.json")).status_code == 404
        assert stranger.get(f"/api/v1/requests/{ref_a}").status_code == 404
        assert stranger.get("/requests/mine", follow_redirects=False).status_code == 303
        stranger.cookies.set("charte_subject", "eyJzIjoiZm9yZ2VkIn0.forged.signature")
        assert stranger.get(f"/requests/{ref_a}").status_code == 404


def test_expired_and_tampered_download_links_are_refused(
        ws: Workspace, two_subjects: tuple[TestClient, str, str, TestClient, str, str]) -> None:
    alice, ref_a, page_a, _, _, _ = two_subjects
    url = file_url(page_a, "report.json")
    token = url.split("token=", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert alice.get(f"/requests/{ref_a}/files/report.json?token={tampered}").status_code == 403
    # A valid token for another file of the same request does not open this one.
    html_token = file_url(page_a, "report.html").split("token=", 1)[1]
    assert alice.get(f"/requests/{ref_a}/files/report.json?token={html_token}").status_code == 403
    subject = state_of(ws, ref_a).subject_ref
    old = RightsSigner(ws.settings.secret_key, clock=lambda: time.time() - 8 * 86400)
    expired = old.download_token(ref_a, "report.json", subject)
    assert alice.get(f"/requests/{ref_a}/files/report.json?token={expired}").status_code == 410
    other_key = RightsSigner("another-secret-key-that-is-long-enough-1234")
    foreign = other_key.download_token(ref_a, "report.json", subject)
    assert alice.get(f"/requests/{ref_a}/files/report.json?token={foreign}").status_code == 403
    assert alice.get(url).status_code == 200


def test_verification_codes_allow_five_tries_then_lock(ws: Workspace, rights_app: FastAPI, mail: Received) -> None:
    with browser(rights_app) as client:
        reference = reference_of(submit(client, "objection", "mallory@example.org", lang="en"))
        code = code_in(mail.wait_for("mallory@example.org", 1)[-1])
        wrong = "000000" if code != "000000" else "111111"
        for remaining in (4, 3, 2, 1):
            refused = verify_with_code(client, reference, wrong, lang="en")
            assert refused.status_code == 400 and f"{remaining} attempt(s) left" in refused.text
        assert verify_with_code(client, reference, wrong, lang="en").status_code == 429
        locked = verify_with_code(client, reference, code, lang="en")
        assert locked.status_code == 429 and "Too many attempts" in locked.text
        assert state_of(ws, reference).state == "awaiting_verification"
        with ws.sessions() as session:
            assert session.scalars(select(LedgerEvent).where(LedgerEvent.type == "request.verification_locked")).one()
        # A new code (rate-limited like any submission) works, and the old one stays dead.
        page = client.get(f"/requests/verify?reference={reference}")
        client.post("/requests/resend", data={"csrf_token": csrf_token(page.text), "reference": reference})
        fresh = code_in(mail.wait_for("mallory@example.org", 2)[-1])
        assert verify_with_code(client, reference, fresh, lang="en").status_code == 303
        assert state_of(ws, reference).state == "verified"


def test_verification_links_are_single_use_replaced_expiring_and_tamper_proof(ws: Workspace, rights_app: FastAPI,
                                                                              mail: Received) -> None:
    with browser(rights_app) as client:
        reference = reference_of(submit(client, "objection", "trent@example.org"))
        first_link = link_in(mail.wait_for("trent@example.org", 1)[-1])
        # Asking again replaces the first link.
        again = submit(client, "objection", "trent@example.org")
        assert reference_of(again) == reference and "duplicate=1" in again.headers["location"]
        second_link = link_in(mail.wait_for("trent@example.org", 2)[-1])
        assert follow_link(client, first_link).status_code == 400
        token = second_link.split("token=", 1)[1]
        tampered = re.sub(r"[A-Za-z]", lambda m: "x" if m.group(0) != "x" else "y", token, count=1)
        assert client.get(f"/requests/link?token={tampered}").status_code == 400
        old = RightsSigner(ws.settings.secret_key, clock=lambda: time.time() - 10 * 86400)
        stale = old.verification_token(reference, 2, "nonce")
        assert client.get(f"/requests/link?token={stale}").status_code == 400
        # Past the challenge's own expiry (24 h), the signed link is refused too.
        rights_app.state.clock = lambda: utcnow() + timedelta(hours=25)
        assert follow_link(client, second_link).status_code == 410
        rights_app.state.clock = utcnow
        assert follow_link(client, second_link).status_code == 303
        assert follow_link(client, second_link).status_code == 400  # used once already


def test_auditors_read_but_never_decide_and_posts_need_csrf(rights_app: FastAPI, ws: Workspace, mail: Received,
                                                            dpo: TestClient) -> None:
    with browser(rights_app) as client:
        reference = reference_of(submit(client, "objection", "victor@example.org"))
        assert verify_with_code(client, reference, code_in(mail.wait_for("victor@example.org", 1)[-1])).status_code \
            == 303
    with browser(rights_app) as auditor:
        assert login(auditor, "auditor-user").status_code == 303
        page = auditor.get(f"/admin/requests/{reference}")
        assert page.status_code == 200 and 'action="/admin/requests/' not in page.text
        for action in ("approve", "deny", "extend", "doubt", "confirm-identity", "retry"):
            response = auditor.post(f"/admin/requests/{reference}/{action}", data={"csrf_token": csrf_token(page.text),
                                                                                   "reason": "x"})
            assert response.status_code == 403, action
        assert auditor.get(f"/admin/requests/{reference}/document").status_code == 403
        assert auditor.get("/admin/requests").status_code == 200
    assert dpo.post(f"/admin/requests/{reference}/approve", data={}).status_code == 403
    with browser(rights_app) as anonymous:
        assert anonymous.get("/admin/requests", follow_redirects=False).status_code == 303
    assert state_of(ws, reference).state == "verified"
    assert dpo_post(dpo, reference, "approve").status_code == 303
    with ws.sessions() as session:
        assert verify(session).ok


def test_anonymous_forms_need_their_csrf_cookie(rights_app: FastAPI) -> None:
    with browser(rights_app) as client:
        response = client.post("/requests/new", data={"request_type": "access", "email": "x@example.org",
                                                      "csrf_token": "guess"})
        assert response.status_code == 403
        assert client.post("/requests/verify", data={"reference": "R-0000-0000", "code": "123456",
                                                     "csrf_token": "guess"}).status_code == 403
