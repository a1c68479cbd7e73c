"""A Fides (fideslang) dataset YAML, written for a schema of our own, read and executed unchanged."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from fideslang.models import Dataset as FidesDataset
from sqlalchemy import create_engine, text

from charte.anonymise import Keyring, pseudonym
from charte.datastores import RequestType, dispose_engines, execute, load_systems
from charte.manifest import check_file, load_manifest
from charte.store import make_engine, migrate, session_factory

from .datastores_support import write_manifest

FIDES = textwrap.dedent("""\
    dataset:
      - fides_key: library
        name: Library
        description: Members, loans, fines and reviews
        collections:
          - name: members
            fields:
              - name: id
                data_categories: [user.unique_id]
                fides_meta:
                  primary_key: True
              - name: email
                data_categories: [user.contact.email]
                fides_meta:
                  identity: email
                  data_type: string
              - name: name
                data_categories: [user.name]
                fides_meta:
                  masking_strategy_override:
                    strategy: string_rewrite
                    configuration:
                      rewrite_value: MASKED
              - name: phone
                data_categories: [user.contact.phone_number]
          - name: loans
            fides_meta:
              masking_strategy_override:
                strategy: delete
            fields:
              - name: id
                fides_meta:
                  primary_key: True
              - name: member_id
                fides_meta:
                  references:
                    - dataset: library
                      field: members.id
                      direction: from
              - name: book
                data_categories: [user.behavior.purchase_history]
          - name: fines
            fides_meta:
              masking_strategy_override:
                strategy: delete
            fields:
              - name: id
                fides_meta:
                  primary_key: True
              - name: loan_id
                fides_meta:
                  references:
                    - dataset: library
                      field: loans.id
                      direction: from
              - name: amount
                data_categories: [user.financial]
          - name: reviews
            fields:
              - name: id
                fides_meta:
                  primary_key: True
              - name: author_email
                data_categories: [user.contact.email]
                fides_meta:
                  references:
                    - dataset: library
                      field: members.email
                  masking_strategy_override:
                    strategy: hmac
              - name: body
                data_categories: [user.content.private]
    """)

SCHEMA = [
    "CREATE TABLE members (id INTEGER PRIMARY KEY, email VARCHAR(200), name VARCHAR(200) NOT NULL, "
    "phone VARCHAR(40))",
    "CREATE TABLE loans (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL REFERENCES members(id), "
    "book VARCHAR(200))",
    "CREATE TABLE fines (id INTEGER PRIMARY KEY, loan_id INTEGER NOT NULL REFERENCES loans(id), amount INTEGER)",
    "CREATE TABLE reviews (id INTEGER PRIMARY KEY, author_email VARCHAR(200), body TEXT)",
    "INSERT INTO members VALUES (1, 'ada@example.org', 'Ada Lovelace', '0601020304'), "
    "(2, 'alan@example.org', 'Alan Turing', NULL)",
    "INSERT INTO loans VALUES (10, 1, 'Sketch of the Analytical Engine'), (11, 1, 'Notes'), (12, 2, 'Computing')",
    "INSERT INTO fines VALUES (100, 10, 5), (101, 12, 3)",
    "INSERT INTO reviews VALUES (1000, 'ada@example.org', 'Brilliant'), (1001, 'alan@example.org', 'Good')",
]
SYSTEM = ("systems:\n  library:\n    name: Library\n    url: ${LIBRARY_URL}\n"
          "    purposes: [identification, service_delivery, sales_billing, contact_requests]\n"
          "    datasets:\n      - file: fides/library.yml\n")


@pytest.fixture(params=["sqlite", "postgres"])
def library_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'library.db'}" if request.param == "sqlite" else \
        str(request.getfixturevalue("postgres_url"))
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in SCHEMA:
            conn.execute(text(statement))
    engine.dispose()
    return url


def test_the_yaml_is_genuine_fides() -> None:
    for entry in yaml.safe_load(FIDES)["dataset"]:
        FidesDataset.model_validate(entry)


def test_fides_dataset_is_read_and_executed_unchanged(library_url: str, tmp_path: Path) -> None:
    manifest_path = write_manifest(tmp_path / "ws", FIDES, SYSTEM, "fides/library.yml")
    result = check_file(manifest_path)
    assert result.ok and not result.errors, [p.format("x") for p in result.problems]
    manifest = load_manifest(manifest_path)
    systems = load_systems(manifest, manifest_path, environ={"LIBRARY_URL": library_url})
    store = make_engine(f"sqlite:///{tmp_path / 'charte.db'}")
    migrate(store)
    keyring = Keyring.generate("f1")

    def run(kind: RequestType) -> dict[str, Any]:
        report = execute(kind, {"email": "ada@example.org"}, manifest=manifest, systems=systems,
                         store=session_factory(store), request_id=uuid.uuid4().hex, keyring=keyring)
        assert report.ok, report.to_dict()
        return {c.name: c for c in report.systems[0].collections}

    engine = create_engine(library_url)
    try:
        found = run("access")
        assert {r["id"] for r in found["loans"].rows} == {10, 11}
        assert {r["id"] for r in found["fines"].rows} == {100}
        # The reference without a direction is followed both ways: members.email -> reviews.author_email.
        assert {r["id"] for r in found["reviews"].rows} == {1000}
        erased = run("erasure")
        assert (erased["loans"].deleted, erased["fines"].deleted, erased["members"].updated) == (2, 1, 1)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT email, name, phone FROM members WHERE id = 1")).one() == (
                None, "MASKED", None)
            assert conn.execute(text("SELECT id FROM loans ORDER BY id")).scalars().all() == [12]
            assert conn.execute(text("SELECT id FROM fines ORDER BY id")).scalars().all() == [101]
            assert conn.execute(text("SELECT author_email, body FROM reviews WHERE id = 1000")).one() == (
                pseudonym("ada@example.org", keyring), None)
            assert conn.execute(text("SELECT email, name FROM members WHERE id = 2")).one() == (
                "alan@example.org", "Alan Turing")
    finally:
        engine.dispose()
        dispose_engines()
        store.dispose()


def test_unsupported_fides_strategy_is_reported_at_its_line(tmp_path: Path) -> None:
    broken = FIDES.replace("strategy: hmac", "strategy: aes_encrypt")
    manifest_path = write_manifest(tmp_path, broken, SYSTEM, "fides/library.yml")
    line = next(i for i, row in enumerate(broken.splitlines(), start=1) if "aes_encrypt" in row)
    problems = [p.format("charte.yaml") for p in check_file(manifest_path).problems]
    file = tmp_path / "fides" / "library.yml"
    assert any(p.startswith(f"{file}:{line - 1}: error:") and "aes_encrypt" in p and "[dataset-masking-strategy]" in p
               for p in problems), problems
