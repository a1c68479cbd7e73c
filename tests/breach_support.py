"""Plain helpers for the breach register tests: a manifest with a connected system, facts, a fixed clock."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from charte.breaches import BreachFacts
from charte.manifest import Manifest, load_manifest
from charte.manifest.models import System

EXAMPLE = Path(__file__).parents[1] / "examples" / "equasens" / "charte.yaml"

#: Awareness of the breach in most tests: a Monday morning, Paris time 10:00.
AWARE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

#: A Fides-shaped dataset annotation of the demo CRM: customers and subscribers identify people by email.
CRM_DATASET: dict[str, Any] = {
    "fides_key": "crm",
    "collections": [
        {"name": "customers", "fields": [
            {"name": "id", "fides_meta": {"primary_key": True}},
            {"name": "email", "data_categories": ["user.contact.email"], "fides_meta": {"identity": "email"}},
            {"name": "name", "data_categories": ["user.name"]},
        ]},
        {"name": "invoices", "fields": [
            {"name": "id"}, {"name": "customer_id", "fides_meta": {"references": [{"dataset": "crm",
                                                                                  "field": "customers.id"}]}},
        ]},
        {"name": "subscribers", "fields": [
            {"name": "email", "fides_meta": {"identity": "email"}},
        ]},
    ],
}


def example_manifest() -> Manifest:
    """The reference customer's manifest."""
    return load_manifest(EXAMPLE)


def with_crm(manifest: Manifest, env_var: str = "CRM_DATABASE_URL") -> Manifest:
    """The manifest with one connected system, ``crm``, annotated like :data:`CRM_DATASET`."""
    crm = System(key="crm", name="CRM", url=f"${{{env_var}}}", purposes=[], datasets=[CRM_DATASET])
    return manifest.model_copy(update={"systems": {"crm": crm}})


def facts(**changes: Any) -> BreachFacts:
    """A complete, high-risk breach; ``changes`` override any field."""
    base = BreachFacts(
        title="Export of the customer file sent to the wrong address",
        aware_at=AWARE,
        occurred_at=AWARE - timedelta(hours=5),
        nature=("confidentiality",),
        description="A sales assistant emailed the customer export to an outside address.",
        other_systems="Outgoing mail",
        data_categories=("user.name", "user.contact.email", "user.health_and_medical"),
        data_subjects=("customers",),
        subjects_count=1234,
        records_count=5678,
        consequences="Targeted phishing of the pharmacists concerned.",
        measures_taken="The recipient confirmed the deletion; the export feature was disabled.",
        measures_planned="Data loss prevention rules on outgoing mail.",
        subject_advice="Be wary of emails asking for your password.",
        risk="high",
        risk_reasoning="Health data of patients appear in support tickets.",
    )
    return replace(base, **changes)


def at(hours: float) -> datetime:
    """The instant ``hours`` after :data:`AWARE`."""
    return AWARE + timedelta(hours=hours)


def build_crm_database(path: Path, customers: int, invoices: int, subscribers: int) -> str:
    """A real SQLite database with the CRM's tables and rows; returns its SQLAlchemy URL."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT)")
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, total REAL)")
        connection.execute("CREATE TABLE subscribers (email TEXT)")
        connection.executemany("INSERT INTO customers (email, name) VALUES (?, ?)",
                               [(f"client{i}@example.com", f"Client {i}") for i in range(customers)])
        connection.executemany("INSERT INTO invoices (customer_id, total) VALUES (?, ?)",
                               [(i % max(customers, 1), 10.0 * i) for i in range(invoices)])
        connection.executemany("INSERT INTO subscribers (email) VALUES (?)",
                               [(f"reader{i}@example.org",) for i in range(subscribers)])
    connection.close()
    return f"sqlite:///{path}"
