"""Requests executed on a real connected database through the datastores feature (the wired executor)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from charte.anonymise.keys import Keyring
from charte.api import create_app
from charte.auth import create_user
from charte.config import Settings
from charte.datastores import dispose_engines
from charte.rights.datastores_executor import DatastoresExecutor, parse_changes
from charte.store import transaction
from charte.workspace import Workspace
from tests.datastores_support import ALICE, create_shop, sql_ids, write_manifest
from tests.rights_support import Received, body, file_url, open_space, settings_with_smtp, smtp_server, walk
from tests.web_support import PASSWORD, login


@pytest.fixture
def shop_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = create_shop(url)
    engine.dispose()
    yield url
    dispose_engines()


@pytest.fixture
def mail() -> Iterator[tuple[str, Received]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def ws(settings: Settings, shop_url: str, mail: tuple[str, Received],
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The reference manifest with the shop system and its annotations, mail to aiosmtpd."""
    write_manifest(settings.home)
    monkeypatch.setenv("SHOP_URL", shop_url)
    monkeypatch.setenv("CHARTE_PSEUDONYM_KEYS", Keyring.generate("t1").to_env())
    workspace = Workspace(settings_with_smtp(settings, mail[0]))
    with transaction(workspace.sessions) as session:
        create_user(session, "dpo-user", PASSWORD, "dpo", actor="test")
    yield workspace
    workspace.engine.dispose()


@pytest.fixture
def rights_app(ws: Workspace) -> FastAPI:
    return create_app(ws)


def test_the_form_offers_the_annotations_identity_fields(rights_app: FastAPI) -> None:
    with TestClient(rights_app) as client:
        page = client.get("/requests/new?lang=en").text
    assert 'name="identifiers.customer_id"' in page and 'name="identifiers.phone_number"' in page


def test_identifiers_come_from_the_referenced_dataset_file_whatever_the_executor(ws: Workspace) -> None:
    from charte.rights import ManifestExecutor, identifier_kinds, rights_services

    # The shop's annotations are a `file:` reference next to the manifest, not inline.
    assert ws.manifest.systems["shop"].datasets == [{"file": "datasets/shop.yaml"}]
    kinds = identifier_kinds(ws.manifest, ws.settings.manifest_path.parent)
    assert [k.key for k in kinds] == ["customer_id", "phone_number"]
    labels = {k.key: k.name("en") for k in kinds}
    assert labels == {key: ws.manifest.data_categories[category].name["en"] for key, category in
                      (("customer_id", "user.unique_id"), ("phone_number", "user.contact.phone_number"))}
    plain = ManifestExecutor()  # knows no identifiers of its own: the annotations still decide
    assert rights_services(ws, executor=plain).identifier_kinds == kinds
    app = create_app(ws)
    app.state.rights_executor = plain
    with TestClient(app) as client:
        page = client.get("/requests/new?lang=en").text
    assert 'name="identifiers.customer_id"' in page and 'name="identifiers.phone_number"' in page


def test_access_answers_with_the_rows_found_in_the_database(rights_app: FastAPI, ws: Workspace,
                                                            mail: tuple[str, Received], shop_url: str) -> None:
    with TestClient(rights_app) as subject, TestClient(rights_app) as dpo:
        assert login(dpo, "dpo-user").status_code == 303
        _, letter = walk(ws, subject, dpo, mail[1], "access", ALICE)
        assert "We found" in body(letter) and "shop" in body(letter)
        report = subject.get(file_url(open_space(subject, letter), "report.json")).json()
    people = [r for r in report["data"]["records"] if r["collection"] == "people"]
    assert [v["value"] for v in people[0]["values"] if v["field"] == "full_name"] == ["Alice Martin"]
    assert {r["collection"] for r in report["data"]["records"]} >= {"people", "orders", "invoices", "notes"}
    # Only the purposes of the system where data was found are listed in (a).
    assert {p["key"] for p in report["purposes"]} <= set(ws.manifest.systems["shop"].purposes)


def test_erasure_deletes_keeps_invoices_under_their_legal_hold_and_says_so(rights_app: FastAPI, ws: Workspace,
                                                                          mail: tuple[str, Received],
                                                                          shop_url: str) -> None:
    from sqlalchemy import create_engine

    with TestClient(rights_app) as subject, TestClient(rights_app) as dpo:
        assert login(dpo, "dpo-user").status_code == 303
        _, letter = walk(ws, subject, dpo, mail[1], "erasure", ALICE, lang="fr")
    text = body(letter)
    assert "shop / notes : supprimé" in text
    assert "shop / invoices : conservé (2 enregistrement(s)) — motif : Factures (10 ans)" in text
    assert "Destinataires informés (art. 19 RGPD)" in text
    engine = create_engine(shop_url)
    try:
        assert sql_ids(engine, "SELECT id FROM notes WHERE subject_email = :e", e=ALICE) == set()
        assert sql_ids(engine, "SELECT id FROM invoices WHERE person_id = 1") == {1, 2}
    finally:
        engine.dispose()


def test_rectification_details_become_the_changes(ws: Workspace) -> None:
    assert parse_changes("full_name = Alice Dupont\nnot a change\n user.contact.email=a@b.c ") == {
        "full_name": "Alice Dupont", "user.contact.email": "a@b.c"}
    executor = DatastoresExecutor(ws.settings.manifest_path)
    assert {k.key for k in executor.identifier_kinds(ws.manifest)} == {"customer_id", "phone_number"}
