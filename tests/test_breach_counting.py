"""Approximate numbers of people and records: real row counts in real databases, compared with a direct SQL count."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from charte.breaches import (
    AffectedCollection,
    CollectionNotFound,
    SystemDatabases,
    SystemNotConfigured,
    annotated_collections,
    complete_counts,
    email_field,
    estimate_counts,
    resolve_system_url,
    system_environment,
)
from charte.ledger import utcnow
from charte.manifest.models import System
from charte.store import transaction

from .breach_support import CRM_DATASET, build_crm_database, example_manifest, facts, with_crm

CUSTOMERS = AffectedCollection("crm", "customers", holds_subjects=True)
INVOICES = AffectedCollection("crm", "invoices")
SUBSCRIBERS = AffectedCollection("crm", "subscribers", holds_subjects=True)


def direct_count(path: Path, table: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        connection.close()


def test_counts_equal_a_direct_sql_count_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    url = build_crm_database(path, customers=137, invoices=1021, subscribers=58)
    manifest = with_crm(example_manifest())
    with SystemDatabases.from_manifest(manifest, {"CRM_DATABASE_URL": url}) as databases:
        for table in ("customers", "invoices", "subscribers"):
            assert databases.count_rows("crm", table) == direct_count(path, table)
        estimate = estimate_counts([CUSTOMERS, INVOICES, SUBSCRIBERS, CUSTOMERS], databases.count_rows)
    assert estimate.records == sum(direct_count(path, t) for t in ("customers", "invoices", "subscribers"))
    assert estimate.subjects == direct_count(path, "customers") + direct_count(path, "subscribers")
    assert [c for c, _ in estimate.per_collection] == [CUSTOMERS, INVOICES, SUBSCRIBERS]  # each counted once


def test_counts_follow_the_data(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    url = build_crm_database(path, customers=3, invoices=0, subscribers=0)
    databases = SystemDatabases({"crm": url})
    assert databases.count_rows("crm", "invoices") == 0
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany("INSERT INTO invoices (customer_id, total) VALUES (?, ?)", [(1, 1.0)] * 9)
    connection.close()
    assert databases.count_rows("crm", "invoices") == 9 == direct_count(path, "invoices")
    databases.close()


def test_complete_counts_fills_only_what_was_not_declared(tmp_path: Path) -> None:
    url = build_crm_database(tmp_path / "crm.db", customers=40, invoices=100, subscribers=7)
    databases = SystemDatabases({"crm": url})
    counted = complete_counts(facts(subjects_count=None, records_count=None, collections=(CUSTOMERS, INVOICES)),
                              databases.count_rows)
    assert (counted.subjects_count, counted.records_count, counted.counts_method) == (40, 140, "counted")
    records_only = complete_counts(facts(subjects_count=None, records_count=None, collections=(INVOICES,)),
                                   databases.count_rows)
    assert (records_only.subjects_count, records_only.records_count) == (None, 100)
    declared = facts(subjects_count=12, records_count=None, collections=(CUSTOMERS,))
    assert complete_counts(declared, databases.count_rows) == declared
    databases.close()


def test_counts_on_postgresql(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE SCHEMA sales"))
        connection.execute(text("CREATE TABLE sales.customers (id serial PRIMARY KEY, email text)"))
        connection.execute(text("CREATE TABLE \"Invoices\" (id serial PRIMARY KEY, amount numeric)"))
        connection.execute(text("INSERT INTO sales.customers (email) SELECT 'c' || g || '@example.com' "
                                "FROM generate_series(1, 2345) g"))
        connection.execute(text("INSERT INTO \"Invoices\" (amount) SELECT g FROM generate_series(1, 777) g"))
        direct = {name: connection.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
                  for name in ("sales.customers", '"Invoices"')}
    engine.dispose()
    with SystemDatabases({"erp": postgres_url}) as databases:
        assert databases.count_rows("erp", "sales.customers") == direct["sales.customers"] == 2345
        assert databases.count_rows("erp", "Invoices") == direct['"Invoices"'] == 777
        emails = databases.distinct_values("erp", "sales.customers", "email")
        assert len(emails) == 2345 and "c1@example.com" in emails


def test_unknown_systems_unset_variables_and_missing_tables_are_precise_errors(tmp_path: Path) -> None:
    url = build_crm_database(tmp_path / "crm.db", customers=1, invoices=1, subscribers=1)
    manifest = with_crm(example_manifest())
    with SystemDatabases.from_manifest(manifest, {}) as databases:
        with pytest.raises(SystemNotConfigured, match="CRM_DATABASE_URL is not set"):
            databases.count_rows("crm", "customers")
        with pytest.raises(SystemNotConfigured, match="not declared"):
            databases.count_rows("erp", "customers")
    with SystemDatabases.from_manifest(manifest, {"CRM_DATABASE_URL": url}) as databases, \
            pytest.raises(CollectionNotFound, match="no collection 'clients'"):
        databases.count_rows("crm", "clients")


def test_system_urls_are_resolved_from_the_environment() -> None:
    assert resolve_system_url("${A}://${B}@h/db", {"A": "postgresql", "B": "u"}) == "postgresql://u@h/db"
    assert resolve_system_url("sqlite:///plain.db", {}) == "sqlite:///plain.db"
    with pytest.raises(SystemNotConfigured, match="SECRET_URL"):
        resolve_system_url("${SECRET_URL}", {})


@pytest.mark.parametrize("through_datastores", [False, True])
def test_collections_and_identities_come_from_fides_annotations(through_datastores: bool, tmp_path: Path) -> None:
    # Inline in the manifest (read here), or through the datastores module's reader (files next to the manifest).
    manifest_dir = tmp_path if through_datastores else None
    manifest = with_crm(example_manifest())
    assert annotated_collections(manifest, manifest_dir) == [CUSTOMERS, INVOICES, SUBSCRIBERS]
    assert email_field(manifest, CUSTOMERS, manifest_dir) == "email"
    assert email_field(manifest, INVOICES, manifest_dir) is None
    assert annotated_collections(example_manifest(), manifest_dir) == []


@pytest.mark.parametrize("written", ["fides", "charte"])
def test_collections_of_a_referenced_dataset_file_are_annotated_and_counted(written: str, tmp_path: Path) -> None:
    # The system's dataset is a `file:` reference next to the manifest, in Fides' format or Charte's.
    charte_format = {"dataset": {"key": "crm", "collections": {
        "customers": {"fields": {"id": {"primary_key": True}, "email": {"category": "user.contact.email",
                                                                         "identity": "email"}}},
        "invoices": {"fields": {"id": {"primary_key": True}, "customer_id": {"references": "customers.id"}}},
        "subscribers": {"fields": {"email": {"identity": "email"}}}}}}
    document = {"dataset": [CRM_DATASET]} if written == "fides" else charte_format
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "crm.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    crm = System(key="crm", name="CRM", url="${CRM_DATABASE_URL}", datasets=[{"file": "datasets/crm.yaml"}])
    manifest = example_manifest().model_copy(update={"systems": {"crm": crm}})
    collections = annotated_collections(manifest, tmp_path)
    assert collections == [CUSTOMERS, INVOICES, SUBSCRIBERS]
    assert email_field(manifest, SUBSCRIBERS, tmp_path) == "email"
    path = tmp_path / "crm.db"
    url = build_crm_database(path, customers=12, invoices=30, subscribers=5)
    with SystemDatabases.from_manifest(manifest, {"CRM_DATABASE_URL": url}) as databases:
        counted = complete_counts(facts(subjects_count=None, records_count=None, collections=tuple(collections)),
                                  databases.count_rows)
    assert (counted.subjects_count, counted.records_count) == (
        direct_count(path, "customers") + direct_count(path, "subscribers"),
        sum(direct_count(path, t) for t in ("customers", "invoices", "subscribers")))


def test_counts_on_the_demo_database_equal_a_direct_sql_count(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from charte.breaches import seed_demo_breach
    from charte.demo import prepare_demo
    from charte.workspace import Workspace

    for name in [n for n in os.environ if n.startswith("CHARTE_")]:
        monkeypatch.delenv(name)
    prepared = prepare_demo(tmp_path / "demo")
    workspace = Workspace(prepared.settings)
    manifest = workspace.manifest
    collections = annotated_collections(manifest, prepared.settings.manifest_path.parent)
    assert collections and any(c.holds_subjects for c in collections)
    environ = system_environment(prepared.settings.home)  # the demo database's URL is in the workspace's .env
    with SystemDatabases.from_manifest(manifest, environ) as databases:
        for collection in collections:
            url = databases.engine(collection.system).url
            assert url.database is not None
            assert databases.count_rows(collection.system, collection.collection) == \
                direct_count(Path(url.database), collection.collection), collection.label
        with transaction(workspace.sessions) as session:
            seeded = seed_demo_breach(session, manifest, clock=utcnow,
                                      count_rows=databases.count_rows,
                                      manifest_dir=prepared.settings.manifest_path.parent)
        running = next(b for b in seeded if b.clock_running)
        [people] = running.facts.collections
        assert running.facts.counts_method == "counted"
        assert running.facts.subjects_count == running.facts.records_count == direct_count(
            Path(str(databases.engine(people.system).url.database)), people.collection)
    workspace.engine.dispose()


def test_collection_syntax() -> None:
    assert AffectedCollection.parse(" crm / sales.customers ") == AffectedCollection("crm", "sales.customers")
    assert AffectedCollection.parse("crm/customers", holds_subjects=True).label == "crm/customers"
    from charte.breaches import InvalidBreach

    for wrong in ("customers", "/customers", "crm/"):
        with pytest.raises(InvalidBreach):
            AffectedCollection.parse(wrong)
