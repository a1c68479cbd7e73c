"""Discovery: reflecting a live database into draft annotations, and guessing categories from names and values."""

from __future__ import annotations

from pathlib import Path

import yaml

from charte.datastores import discover, draft_yaml
from charte.datastores.annotations import Dataset
from charte.datastores.classify import guess, guess_from_name, guess_from_values
from charte.demo_crm import build_crm
from charte.manifest import load_manifest

from .conftest import EXAMPLE_MANIFEST


def test_names_in_french_and_english() -> None:
    expected = {"courriel": "user.contact.email", "customerEmail": "user.contact.email",
                "telephone_portable": "user.contact.phone_number", "prenom": "user.name.first",
                "LastName": "user.name.last", "date_naissance": "user.demographic.date_of_birth",
                "code_postal": "user.contact.address.postal_code", "remote_addr": "user.device.ip_address",
                "IBAN": "user.financial.bank_account",
                "numero_secu": "user.government_id.national_identification_number",
                "customer_number": "user.unique_id", "Fax": "user.contact.fax_number"}
    for name, category in expected.items():
        found = guess_from_name(name)
        assert found is not None and found.category == category, (name, found)
    assert guess_from_name("product") is None and guess_from_name("total_cents") is None


def test_values_decide_when_names_say_nothing() -> None:
    cases = {
        "user.contact.email": ["a@example.fr", "b.c@example.com", "x@y.org"],
        "user.contact.phone_number": ["06 12 34 56 78", "+33 1 53 73 22 22", "0383123456"],
        "user.device.ip_address": ["192.0.2.1", "2001:db8::1", "203.0.113.9"],
        "user.financial.bank_account": ["FR7630006000011234567890189", "DE89370400440532013000"],
        "user.government_id.national_identification_number": ["284057800608490"],
        "user.contact.address.postal_code": ["54600", "75007", "13001"],
        "user.contact.address.street": ["12 rue de la Paix", "3 bis avenue Foch", "7 allée des Tilleuls"],
        "user.name": ["Marie Dupont", "Jean Martin", "Camille Leroy"],
    }
    for category, values in cases.items():
        found = guess("col", values)
        assert found is not None and found.category == category, (category, found)
    assert guess_from_values(["LGPI", "Maintenance", "Formation"]) is None
    # Unmistakable values beat a misleading name.
    found = guess("email", ["06 12 34 56 78", "0612345679"])
    assert found is not None and found.category == "user.contact.phone_number"
    assert guess("birth_date", ["2024-01-01"]) is None, "not a plausible date of birth"


def test_discover_drafts_the_demo_database(tmp_path: Path) -> None:
    database = tmp_path / "crm.db"
    build_crm(database, customers=40)
    draft = discover(f"sqlite:///{database}", manifest=load_manifest(EXAMPLE_MANIFEST), key="crm")
    text = draft_yaml(draft)
    assert text.startswith("# Draft annotations discovered from sqlite:///")
    dataset = Dataset.model_validate(yaml.safe_load(text)["dataset"])
    customers = dataset.collections["customers"]
    assert customers.fields["email"].identity == "email"
    assert customers.fields["phone"].identity == "phone_number"
    assert customers.keys == ("id",) and customers.restriction is not None
    assert customers.restriction.column == "restricted"
    invoices = dataset.collections["invoices"]
    assert invoices.legal_hold is not None and invoices.legal_hold.purpose == "accounting"
    assert invoices.legal_hold.since == "issued_at"
    assert invoices.fields["customer_id"].references[0].field == "customers.id"
    assert dataset.collections["web_visits"].fields["ip_address"].category == "user.device.ip_address"
    assert dataset.collections["ticket_messages"].fields["ticket_id"].references[0].collection == "support_tickets"
    assert dataset.collections["candidates"].erasure == "delete"
    # NOT NULL text columns get a mask so that a masked row stays valid.
    assert customers.fields["pharmacy"].erasure is not None and customers.fields["pharmacy"].erasure.action == "mask"
