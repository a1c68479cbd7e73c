"""Each right from the request form to the final letter, through the real app and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from charte.api import create_app
from charte.auth import create_token, create_user
from charte.config import Settings
from charte.consent import check_permission
from charte.ledger import utcnow, verify
from charte.manifest import tr
from charte.render.formatting import retention_text
from charte.rights import RESTRICTIONS, find_request, is_restricted
from charte.store import transaction
from charte.store.models import LedgerEvent
from charte.workspace import Workspace
from tests.rights_support import (
    FakeExecutor,
    Received,
    assert_every_state_change_recorded,
    body,
    code_in,
    dpo_post,
    file_url,
    flat,
    open_space,
    reference_of,
    settings_with_smtp,
    smtp_server,
    state_of,
    submit,
    transitions,
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


def _manifest_with_all_request_types(settings: Settings) -> None:
    # The reference manifest offers no request form for information and complaint; this variant does.
    path = settings.manifest_path
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rights"]["information"]["request_type"] = "information"
    data["rights"]["complaint"]["request_type"] = "complaint"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def all_request_types() -> bool:
    """Whether the manifest also offers information and complaint requests (tests parametrize it to True)."""
    return False


@pytest.fixture
def rights_workspace(settings: Settings, smtp: tuple[str, Received], all_request_types: bool) -> Iterator[Workspace]:
    """The test workspace, sending mail to the aiosmtpd server."""
    if all_request_types:
        _manifest_with_all_request_types(settings)
    ws = Workspace(settings_with_smtp(settings, smtp[0]))
    yield ws
    ws.dispose()


@pytest.fixture
def rights_app(rights_workspace: Workspace) -> FastAPI:
    return create_app(rights_workspace)


@pytest.fixture
def subject(rights_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(rights_app) as browser:
        yield browser


@pytest.fixture
def dpo(rights_app: FastAPI, rights_workspace: Workspace) -> Iterator[TestClient]:
    with transaction(rights_workspace.sessions) as session:
        create_user(session, "dpo-user", PASSWORD, "dpo", actor="test")
    with TestClient(rights_app) as browser:
        assert login(browser, "dpo-user").status_code == 303
        yield browser


def test_access_letter_has_every_art15_item_of_the_reference_manifest(rights_workspace: Workspace,
                                                                       subject: TestClient, dpo: TestClient,
                                                                       mail: Received) -> None:
    _, letter = walk(rights_workspace, subject, dpo, mail, "access", "alice@example.org")
    manifest = rights_workspace.manifest
    text = body(letter)
    for heading in ("(GDPR Art. 15(1)(a))", "(GDPR Art. 15(1)(b))", "(GDPR Art. 15(1)(c))", "(GDPR Art. 15(1)(d))",
                    "(GDPR Art. 15(1)(e))", "(GDPR Art. 15(1)(f))", "(GDPR Art. 15(1)(g))", "(GDPR Art. 15(1)(h))",
                    "(GDPR Art. 15(2))", "(GDPR Art. 15(3))"):
        assert heading in text, heading
    for purpose in manifest.purposes.values():
        assert tr(purpose.name, "en") in text                                          # (a)
        if purpose.retention:
            assert retention_text(purpose.retention, "en") in text                      # (d)
        if purpose.automated_logic:
            assert tr(purpose.automated_logic, "en") in text                            # (h)
    for category in manifest.data_categories.values():
        if any(category.key in p.data_categories for p in manifest.purposes.values()):
            assert tr(category.name, "en") in text                                      # (b)
    for recipient in manifest.recipients.values():
        assert tr(recipient.name, "en") in text                                         # (c)
    for right in manifest.rights.values():
        assert tr(right.name, "en") in text                                             # (e)
    assert manifest.supervisory_authority.complaint_url in text                         # (f)
    for source in manifest.data_sources.values():
        assert tr(source.name, "en") in text                                            # (g)
    assert "None of Equasens’s systems holding personal data is connected" in text      # 15(3), truthfully
    # The subject's space: the letter, and the report as HTML and JSON behind signed links.
    page = open_space(subject, letter)
    assert "Access report (JSON)" in page and tr(manifest.purposes["newsletter"].name, "en") in page
    report = subject.get(file_url(page, "report.json"))
    assert report.status_code == 200 and report.headers["content-disposition"].startswith("attachment")
    data = report.json()
    for key in ("purposes", "categories", "recipients", "retention", "rights", "complaint", "sources",
                "automated_decisions"):
        assert data[key], key
    assert data["articles"]["automated_decisions"] == "15(1)(h)"
    assert data["complaint"]["complaint_url"] == "https://www.cnil.fr/fr/plaintes"
    assert data["data"]["no_connected_systems"] is True
    html = subject.get(file_url(page, "report.html"))
    assert html.status_code == 200 and "<html lang=\"en\">" in html.text
    assert "sha256-" in html.headers["content-security-policy"]


def test_access_with_data_found_includes_the_copy(rights_app: FastAPI, rights_workspace: Workspace,
                                                  subject: TestClient, dpo: TestClient, mail: Received) -> None:
    executor = FakeExecutor()
    rights_app.state.rights_executor = executor
    _, letter = walk(rights_workspace, subject, dpo, mail, "access", "alice@example.org", lang="fr", by_link=True)
    assert executor.calls[0][0] == "access" and executor.calls[0][1].email == "alice@example.org"
    assert "Nous avons trouvé 1 enregistrement(s)" in body(letter) and "crm" in body(letter)
    page = open_space(subject, letter)
    report = subject.get(file_url(page, "report.json")).json()
    assert report["data"]["records"][0]["values"][1] == {"field": "name", "value": "Alice Martin",
                                                         "category": "user.name", "category_name": "Nom et prénom"}
    assert "Alice Martin" in subject.get(file_url(page, "report.html")).text


def test_portability_exports_only_data_provided_under_consent_or_contract(rights_app: FastAPI,
                                                                            rights_workspace: Workspace,
                                                                            subject: TestClient, dpo: TestClient,
                                                                            mail: Received) -> None:
    rights_app.state.rights_executor = FakeExecutor()
    reference, letter = walk(rights_workspace, subject, dpo, mail, "portability", "bob@example.org")
    assert "Article 20 GDPR" in body(letter) and "Records exported: 1." in body(letter)
    page = open_space(subject, letter)
    exported = subject.get(file_url(page, "data.json"))
    assert exported.status_code == 200
    data = exported.json()
    assert data["reference"] == reference
    # Browsing history is collected automatically (not provided by the subject): not portable.
    assert data["records"] == [{"system": "crm", "collection": "customers",
                                "data": {"email": "bob@example.org", "name": "Alice Martin"}}]
    rows = list(csv.DictReader(io.StringIO(subject.get(file_url(page, "data.csv")).text)))
    assert {row["field"] for row in rows} == {"email", "name"}


def test_rectification_executes_then_lists_the_recipients_informed(rights_app: FastAPI,
                                                                   rights_workspace: Workspace,
                                                                   subject: TestClient, dpo: TestClient,
                                                                   mail: Received) -> None:
    executor = FakeExecutor()
    rights_app.state.rights_executor = executor
    details = "user.contact.address = 3 rue des Lilas, 54000 Nancy"
    reference, letter = walk(rights_workspace, subject, dpo, mail, "rectification", "carol@example.org",
                             details=details)
    assert executor.calls == [("rectification", executor.calls[0][1], details)]
    text = body(letter)
    assert "crm / customers / address: rectified (1 record(s))" in text
    assert "Recipients informed (GDPR Art. 19)" in text
    for name in ("Our freelancers", "Our financial partners", "Our trusted third-party partners"):
        assert name in text
    assert ("request.recipients_notified", None, None) in transitions(rights_workspace, reference)


def test_rectification_without_details_is_refused_at_the_form(subject: TestClient) -> None:
    response = submit(subject, "rectification", "carol@example.org", lang="en")
    assert response.status_code == 422
    assert 'id="error-details"' in response.text and 'aria-invalid="true"' in response.text


def test_erasure_with_no_connected_system_says_so_truthfully(rights_workspace: Workspace, subject: TestClient,
                                                             dpo: TestClient, mail: Received) -> None:
    _, letter = walk(rights_workspace, subject, dpo, mail, "erasure", "dave@example.org", lang="fr")
    text = body(letter)
    assert "article 17 du RGPD" in text
    assert "Aucun système contenant des données personnelles n’est encore relié à Charte chez Equasens" in text
    assert "Destinataires informés (art. 19 RGPD)" in text


def test_erasure_reports_what_was_kept_under_a_legal_hold(rights_app: FastAPI, rights_workspace: Workspace,
                                                          subject: TestClient, dpo: TestClient,
                                                          mail: Received) -> None:
    rights_app.state.rights_executor = FakeExecutor()
    _, letter = walk(rights_workspace, subject, dpo, mail, "erasure", "dave@example.org")
    text = body(letter)
    assert "crm / customers: erased (1 record(s))" in text
    assert "billing / invoices: kept (3 record(s)) — reason: Code de commerce, art. L123-22 (10 ans)" in text
    assert "Article 17(3) GDPR" in text


def test_restriction_flags_the_subject_and_lifting_needs_a_notice(rights_app: FastAPI, rights_workspace: Workspace,
                                                                  subject: TestClient, dpo: TestClient,
                                                                  mail: Received) -> None:
    address = "erin@example.org"
    reference, letter = walk(rights_workspace, subject, dpo, mail, "restriction", address)
    assert "Article 18 GDPR" in body(letter) and "We will inform you before this restriction is lifted." in body(letter)
    manifest = rights_workspace.manifest
    with rights_workspace.sessions() as session:
        assert is_restricted(session, address) and is_restricted(session, f"email:{address}")
        assert not is_restricted(session, "someone-else@example.org")
        # The consent feature's permission check denies every purpose but storage.
        permission = check_permission(session, manifest, f"email:{address}", "sales_billing",
                                      restrictions=RESTRICTIONS)
        assert not permission.allowed
        assert RESTRICTIONS.restricted(session, [f"email:{address}"], "storage") == set()
    page = dpo.get(f"/admin/requests/{reference}")
    restriction_id = page.text.split("/admin/restrictions/")[1].split("/")[0]
    token = csrf_token(page.text)
    # Lifting without a notice first is refused.
    refused = dpo.post(f"/admin/restrictions/{restriction_id}/lift", data={"csrf_token": token,
                                                                           "reference": reference})
    assert refused.status_code == 400 and "Art. 18(3)" in refused.text
    announced = dpo.post(f"/admin/restrictions/{restriction_id}/announce-lift",
                         data={"csrf_token": token, "reference": reference, "reason": "Accuracy verified."},
                         follow_redirects=False)
    assert announced.status_code == 303
    notice = mail.wait_for(address, 3)[-1]
    assert "Article 18(3) GDPR" in flat(notice) and "Accuracy verified." in flat(notice)
    too_early = dpo.post(f"/admin/restrictions/{restriction_id}/lift", data={"csrf_token": token,
                                                                             "reference": reference})
    assert too_early.status_code == 400
    rights_app.state.clock = lambda: utcnow() + timedelta(days=8)
    assert dpo.post(f"/admin/restrictions/{restriction_id}/lift", data={"csrf_token": token, "reference": reference},
                    follow_redirects=False).status_code == 303
    with rights_workspace.sessions() as session:
        assert not is_restricted(session, address)
        types = [e.type for e in session.scalars(select(LedgerEvent)).all()]
    assert {"restriction.applied", "restriction.lift_announced", "restriction.lifted"} <= set(types)


def test_objection_updates_the_consent_state_and_confirms_it(rights_workspace: Workspace, subject: TestClient,
                                                             dpo: TestClient, mail: Received) -> None:
    address = "frank@example.org"
    _, letter = walk(rights_workspace, subject, dpo, mail, "objection", address, lang="fr",
                     purposes_objection="satisfaction_surveys")
    text = body(letter)
    assert "article 21 du RGPD" in text and "Enquêtes de satisfaction — opposition enregistrée" in text
    manifest = rights_workspace.manifest
    with rights_workspace.sessions() as session:
        assert not check_permission(session, manifest, f"email:{address}", "satisfaction_surveys").allowed
        # Only the purpose objected to.
        assert check_permission(session, manifest, f"email:{address}", "customer_analysis").allowed


def test_objection_to_automated_processing_explains_the_logic(rights_workspace: Workspace, subject: TestClient,
                                                              dpo: TestClient, mail: Received) -> None:
    address = "gina@example.org"
    _, letter = walk(rights_workspace, subject, dpo, mail, "automated_decision", address)
    text = body(letter)
    manifest = rights_workspace.manifest
    assert "Article 22 GDPR" in text and "human intervention" in text
    assert tr(manifest.purposes["customer_analysis"].automated_logic, "en") in text
    with rights_workspace.sessions() as session:
        assert not check_permission(session, manifest, f"email:{address}", "customer_analysis").allowed
        assert not check_permission(session, manifest, f"email:{address}", "targeted_advertising").allowed


def test_consent_withdrawal_is_approved_automatically_and_confirmed(rights_workspace: Workspace,
                                                                   subject: TestClient, dpo: TestClient,
                                                                   mail: Received) -> None:
    address = "hugo@example.org"
    reference, letter = walk(rights_workspace, subject, dpo, mail, "withdraw_consent", address,
                             purposes_withdraw_consent=["newsletter", "campaign_offers"])
    text = body(letter)
    assert "Article 7(3) GDPR" in text and "Information newsletters — consent withdrawn" in text
    assert "does not affect the lawfulness" in text
    moves = transitions(rights_workspace, reference)
    approved = next(m for m in moves if m[0] == "request.approved")
    assert approved[2] == "approved"
    with rights_workspace.sessions() as session:
        event = session.scalars(select(LedgerEvent).where(LedgerEvent.type == "request.approved")).one()
        assert json.loads(event.payload)["auto"] is True and event.actor == "system:auto-approval"


def test_denial_gives_reasons_and_cites_the_cnil_and_the_courts(rights_workspace: Workspace, subject: TestClient,
                                                               dpo: TestClient, mail: Received) -> None:
    address = "ivan@example.org"
    response = submit(subject, "erasure", address, lang="fr")
    reference = reference_of(response)
    assert verify_with_code(subject, reference, code_in(mail.wait_for(address, 1)[-1])).status_code == 303
    assert dpo_post(dpo, reference, "confirm-identity", note="ok").status_code == 303
    without_reason = dpo_post(dpo, reference, "deny", reason=" ")
    assert without_reason.status_code == 400
    reason = "Vos données de facturation doivent être conservées dix ans (Code de commerce, art. L123-22)."
    assert dpo_post(dpo, reference, "deny", reason=reason).status_code == 303
    text = body(mail.wait_for(address, 2)[-1])
    assert reason in text
    assert "réclamation auprès de la CNIL" in text and "https://www.cnil.fr/fr/plaintes" in text
    assert "recours juridictionnel" in text and "tribunal judiciaire" in text
    assert state_of(rights_workspace, reference).state == "denied"
    assert_every_state_change_recorded(rights_workspace, reference)


@pytest.mark.parametrize("all_request_types", [True])
def test_information_request_answers_with_articles_13_and_14(rights_workspace: Workspace, subject: TestClient,
                                                              dpo: TestClient, mail: Received) -> None:
    _, letter = walk(rights_workspace, subject, dpo, mail, "information", "jane@example.org")
    text = body(letter)
    assert "Articles 13 and 14 GDPR" in text and "(GDPR Art. 15(1)(g))" in text


@pytest.mark.parametrize("all_request_types", [True])
def test_complaint_is_answered_by_the_dpo_with_the_cnil_as_recourse(rights_workspace: Workspace,
                                                                     subject: TestClient, dpo: TestClient,
                                                                     mail: Received) -> None:
    _, letter = walk(rights_workspace, subject, dpo, mail, "complaint", "karl@example.org",
                     details="My newsletter unsubscription was ignored.",
                     approve={"response": "We are sorry: your unsubscription is now effective."})
    text = body(letter)
    assert "My newsletter unsubscription was ignored." in text
    assert "We are sorry: your unsubscription is now effective." in text
    assert "lodge a complaint with the CNIL: https://www.cnil.fr/fr/plaintes" in text


def test_extension_is_sent_with_reasons_before_the_first_due_date(rights_workspace: Workspace,
                                                                  subject: TestClient, dpo: TestClient,
                                                                  mail: Received) -> None:
    address = "lena@example.org"
    reference = reference_of(submit(subject, "access", address, lang="en"))
    assert verify_with_code(subject, reference, code_in(mail.wait_for(address, 1)[-1]), lang="en").status_code == 303
    first_due = state_of(rights_workspace, reference).first_due_on
    assert dpo_post(dpo, reference, "extend", months="2", reason="").status_code == 400
    assert dpo_post(dpo, reference, "extend", months="2",
                    reason="Your data is spread over several systems.").status_code == 303
    text = flat(mail.wait_for(address, 2)[-1])
    assert "Article 12(3) GDPR" in text and "Your data is spread over several systems." in text
    extended = state_of(rights_workspace, reference)
    assert extended.extension_months == 2 and extended.due_on > first_due
    assert ("request.extended", None, None) in transitions(rights_workspace, reference)


def test_reasonable_doubt_asks_for_a_document_deleted_after_verification(rights_workspace: Workspace,
                                                                         subject: TestClient, dpo: TestClient,
                                                                         mail: Received) -> None:
    address = "mona@example.org"
    reference = reference_of(submit(subject, "access", address, lang="en", **{"identifiers.user.unique_id": "C-1"}))
    assert state_of(rights_workspace, reference).verification_level == "review"
    assert verify_with_code(subject, reference, code_in(mail.wait_for(address, 1)[-1])).status_code == 303
    assert dpo_post(dpo, reference, "doubt", reason="The customer number belongs to someone else.").status_code == 303
    request_mail = mail.wait_for(address, 2)[-1]
    assert "Article 12(6) GDPR" in flat(request_mail)
    assert state_of(rights_workspace, reference).suspended_since is not None
    page = subject.get(f"/requests/{reference}")
    uploaded = subject.post(f"/requests/{reference}/document", data={"csrf_token": csrf_token(page.text)},
                            files={"file": ("id.pdf", b"%PDF-1.4 identity", "application/pdf")},
                            follow_redirects=False)
    assert uploaded.status_code == 303
    shown = dpo.get(f"/admin/requests/{reference}/document")
    assert shown.status_code == 200 and shown.content.startswith(b"%PDF")
    assert dpo_post(dpo, reference, "confirm-identity", note="ID card matches").status_code == 303
    assert dpo.get(f"/admin/requests/{reference}/document").status_code == 404
    types = [t for t, _, _ in transitions(rights_workspace, reference)]
    assert types.index("request.identity_document_received") < types.index("request.identity_document_deleted")
    assert "request.identity_document_viewed" in types


def test_json_intake_duplicates_tokens_and_errors(rights_workspace: Workspace, subject: TestClient,
                                                  mail: Received) -> None:
    first = subject.post("/api/v1/requests", json={"type": "access", "email": "nina@example.org", "language": "en"})
    assert first.status_code == 201, first.text
    again = subject.post("/api/v1/requests", json={"type": "access", "email": "NINA@example.org"})
    assert again.status_code == 200 and again.json()["reference"] == first.json()["reference"]
    # The duplicate replaced the code: the subject who lost it gets a new one.
    assert len(mail.wait_for("nina@example.org", 2)) == 2
    bad = subject.post("/api/v1/requests", json={"type": "teleport", "email": "not-an-email"})
    assert bad.status_code == 422 and bad.json()["errors"]["request_type"] == "unknown"
    assert subject.post("/api/v1/requests", json={"type": "access", "identifiers": {"user.unique_id": "C-9"},
                                                  "verified_by": "account"}).status_code == 401
    with transaction(rights_workspace.sessions) as session:
        _, weak = create_token(session, "reader", ["consent:write"], created_by=None)
        _, strong = create_token(session, "website", ["requests:write"], created_by=None)
    body_ = {"type": "withdraw_consent", "identifiers": {"user.unique_id": "C-9"}, "verified_by": "account"}
    assert subject.post("/api/v1/requests", json=body_,
                        headers={"Authorization": f"Bearer {weak}"}).status_code == 403
    accepted = subject.post("/api/v1/requests", json=body_, headers={"Authorization": f"Bearer {strong}"})
    assert accepted.status_code == 201 and accepted.json()["state"] in ("approved", "completed")
    with rights_workspace.sessions() as session:
        found = find_request(session, accepted.json()["reference"])
        assert found.verification_method == "website:account" and found.email is None


def test_intake_is_rate_limited_per_address_across_processes(settings: Settings, smtp: tuple[str, Received]) -> None:
    ws = Workspace(settings_with_smtp(settings, smtp[0], CHARTE_RIGHTS_INTAKE_PER_ADDRESS="3"))
    try:
        with TestClient(create_app(ws)) as first, TestClient(create_app(ws)) as second:
            for n in range(2):
                assert submit(first, "access", f"p{n}@example.org").status_code == 303
            assert submit(second, "access", "p2@example.org").status_code == 303
            refused = submit(second, "access", "p3@example.org")
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
            assert "Trop de demandes" in refused.text
    finally:
        ws.dispose()


def test_every_mail_is_in_the_ledger_and_the_chain_verifies(rights_workspace: Workspace, subject: TestClient,
                                                            dpo: TestClient, mail: Received) -> None:
    walk(rights_workspace, subject, dpo, mail, "objection", "omar@example.org")
    with rights_workspace.sessions() as session:
        delivered = session.scalars(select(LedgerEvent).where(LedgerEvent.type == "mail.delivered")).all()
        assert len(delivered) == 2
        assert verify(session).ok
        # Nothing in the ledger names the subject's address.
        assert all("omar@example.org" not in e.payload and e.subject != "omar@example.org"
                   for e in session.scalars(select(LedgerEvent)).all())
