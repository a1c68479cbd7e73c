"""A CRM with an analytics log for the retention tests: the same tables and rows on SQLite, PostgreSQL, MariaDB.

customers (deleted 3 years after the last contact)
  ├─ orders (erasure: delete, no rule of their own: deleted with their customer)
  ├─ invoices (purpose rule: 3 years; legal hold: 10 years after the end of the financial year)
  │    └─ invoice_lines (hold without a date: kept with, and deleted with, their invoice)
  └─ visits (analytics: IP truncated, visitor pseudonymised after 13 months, rows deleted after 25 months;
             the link to the customer is cut when the customer goes)
newsletter (pseudonymised 3 years after subscribing), prospects (archived then deleted after 3 years)

Every expectation in the tests is hand-computed from ``NOW`` and the rows below, never by Charte's own code.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    select,
)

from .conftest import EXAMPLE_MANIFEST
from .db_support import create_and_fill

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

metadata = MetaData()
customers = Table("customers", metadata,
                  Column("id", Integer, primary_key=True, autoincrement=False),
                  Column("email", String(200), nullable=False),
                  Column("full_name", String(200)),
                  Column("postcode", String(10)),
                  Column("last_contact_at", DateTime, nullable=False))
orders = Table("orders", metadata,
               Column("id", Integer, primary_key=True, autoincrement=False),
               Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
               Column("placed_at", DateTime, nullable=False),
               Column("product", String(40), nullable=False))
invoices = Table("invoices", metadata,
                 Column("id", Integer, primary_key=True, autoincrement=False),
                 Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
                 Column("issued_at", Date, nullable=False),
                 Column("billing_name", String(200), nullable=False))
invoice_lines = Table("invoice_lines", metadata,
                      Column("id", Integer, primary_key=True, autoincrement=False),
                      Column("invoice_id", Integer, ForeignKey("invoices.id"), nullable=False),
                      Column("amount", Integer, nullable=False))
visits = Table("visits", metadata,
               Column("id", Integer, primary_key=True, autoincrement=False),
               Column("customer_id", Integer, ForeignKey("customers.id")),
               Column("ip", String(45)),
               Column("visitor", String(100)),
               Column("user_agent", String(200)),
               Column("visited_at", DateTime, nullable=False))
newsletter = Table("newsletter", metadata,
                   Column("id", Integer, primary_key=True, autoincrement=False),
                   Column("email", String(200), nullable=False),
                   Column("subscribed_at", DateTime, nullable=False))
prospects = Table("prospects", metadata,
                  Column("id", Integer, primary_key=True, autoincrement=False),
                  Column("email", String(200), nullable=False),
                  Column("met_at", DateTime, nullable=False))
prospects_archive = Table("prospects_archive", metadata,
                          Column("id", Integer, primary_key=True, autoincrement=False),
                          Column("email", String(200), nullable=False),
                          Column("met_at", DateTime, nullable=False))

#: Cutoffs at NOW, by hand: 13 and 25 months, 3 years before 15 June 2026 12:00; the invoices of 2015 are the last
#: whose ten years after the end of their financial year (31 December 2015 + 10 years) have run.
CUTOFF_13M = datetime(2025, 5, 15, 12, 0)
CUTOFF_25M = datetime(2024, 5, 15, 12, 0)
CUTOFF_3Y = datetime(2023, 6, 15, 12, 0)
INVOICES_RELEASED_BEFORE = date(2016, 1, 1)

IPS = ["192.168.10.77", "10.1.2.3", "2001:db8:85a3:8d3:1319:8a2e:370:7348", "172.16.0.0", "203.0.113.9",
       "fe80::1ff:fe23:4567:890a", None]


def visit_time(i: int) -> datetime:
    """Visits every 5 days back from NOW, with the exact cutoffs (and a second after) among them."""
    special = {3: CUTOFF_13M, 4: CUTOFF_13M + timedelta(seconds=1), 8: CUTOFF_25M, 9: CUTOFF_25M + timedelta(seconds=1)}
    return special.get(i, datetime(2026, 6, 14, 9, 30) - timedelta(days=5 * i))


def rows() -> dict[Table, list[dict[str, Any]]]:
    """Every table's rows."""
    data: dict[Table, list[dict[str, Any]]] = {t: [] for t in metadata.sorted_tables}
    contacts = [datetime(2019, 3, 1), CUTOFF_3Y, CUTOFF_3Y + timedelta(seconds=1), datetime(2024, 1, 1),
                datetime(2020, 7, 7), datetime(2021, 2, 2), datetime(2014, 5, 5), datetime(2025, 12, 1)]
    for cid, contact in enumerate(contacts, start=1):
        data[customers].append({"id": cid, "email": f"c{cid}@example.com", "full_name": f"Customer {cid}",
                                "postcode": f"5400{cid}", "last_contact_at": contact})
        for o in range(2):
            data[orders].append({"id": cid * 10 + o, "customer_id": cid, "placed_at": contact - timedelta(days=30 * o),
                                 "product": f"P{o}"})
    # Customer 5 (due) still has an invoice under legal hold; customer 7 (due) only invoices whose hold is over.
    issued = [(1, 5, date(2022, 3, 1)), (2, 7, date(2015, 12, 31)), (3, 7, date(2014, 6, 1)),
              (4, 4, date(2016, 1, 1)), (5, 1, date(2015, 6, 30)), (6, 1, date(2016, 2, 2))]
    for iid, cid, day in issued:
        data[invoices].append({"id": iid, "customer_id": cid, "issued_at": day, "billing_name": f"Customer {cid}"})
        for line in range(2):
            data[invoice_lines].append({"id": iid * 10 + line, "invoice_id": iid, "amount": 100 * iid + line})
    for i in range(1, 200):
        data[visits].append({"id": i, "customer_id": (i % 9) or None, "ip": IPS[i % len(IPS)],
                             "visitor": f"visitor-{i % 13}", "user_agent": f"agent {i % 3}",
                             "visited_at": visit_time(i)})
    for i in range(1, 40):
        data[newsletter].append({"id": i, "email": f"reader{i}@example.com",
                                 "subscribed_at": datetime(2021, 1, 1) + timedelta(days=29 * i)})
    for i in range(1, 30):
        data[prospects].append({"id": i, "email": f"prospect{i}@example.com",
                                "met_at": datetime(2022, 1, 1) + timedelta(days=31 * i)})
    return data


def create_crm(url: str) -> Engine:
    """Create and fill the schema at ``url``; return a plain engine for the test's own SQL."""
    return create_and_fill(url, metadata, rows())


ANNOTATIONS = textwrap.dedent("""\
    dataset:
      key: crm
      collections:
        customers:
          erasure: delete
          retention: {field: last_contact_at, period: P3Y, action: delete}
          fields:
            id: {category: user.unique_id, primary_key: true, identity: customer_id}
            email: {category: user.contact.email, identity: email}
            full_name: user.name
            postcode: {category: user.contact.address, erasure: generalise_postcode}
            last_contact_at: system.operations
        orders:
          erasure: delete
          fields:
            id: {primary_key: true}
            customer_id: {references: customers.id}
            placed_at: user.behavior.purchase_history
            product: user.behavior.purchase_history
        invoices:
          legal_hold: {purpose: accounting, since: issued_at}
          retention: {field: issued_at, purpose: sales_billing, action: delete}
          fields:
            id: {primary_key: true}
            customer_id: {references: customers.id}
            issued_at: user.financial
            billing_name: user.name
        invoice_lines:
          legal_hold: {purpose: accounting}
          fields:
            id: {primary_key: true}
            invoice_id: {references: invoices.id}
            amount: user.financial
        visits:
          purposes: [audience_measurement]
          erasure: mask
          retention:
            - {field: visited_at, period: P13M, action: anonymise,
               fields: {ip: truncate_ip, visitor: pseudonym, user_agent: null}}
            - {field: visited_at, purpose: audience_measurement, action: delete}
          fields:
            id: {primary_key: true}
            customer_id: {references: customers.id, erasure: null}
            ip: {category: user.device.ip_address, erasure: truncate_ip}
            visitor: {category: user.device.cookie_id, erasure: pseudonym}
            user_agent: system.operations
            visited_at: system.operations
        newsletter:
          purposes: [newsletter]
          erasure: delete
          retention: {field: subscribed_at, purpose: newsletter, action: pseudonymise}
          fields:
            id: {primary_key: true}
            email: {category: user.contact.email, identity: email}
            subscribed_at: user.privacy_preferences
        prospects:
          purposes: [campaign_offers]
          erasure: delete
          retention: {field: met_at, period: P3Y, action: archive_then_delete, archive: prospects_archive}
          fields:
            id: {primary_key: true}
            email: {category: user.contact.email, identity: email}
            met_at: system.operations
    """)

SYSTEM = textwrap.dedent("""\
    systems:
      crm:
        name: CRM
        url: ${CRM_URL}
        purposes: [identification, service_delivery, sales_billing, accounting, audience_measurement, newsletter,
                   campaign_offers]
        datasets:
          - file: datasets/crm.yaml
    """)


def write_manifest(folder: Path, annotations: str = ANNOTATIONS) -> Path:
    """The example manifest with the CRM system, and its annotation file, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    base = EXAMPLE_MANIFEST.read_text(encoding="utf-8")
    assert "\nsystems: {}\n" in base
    manifest = folder / "charte.yaml"
    manifest.write_text(base.replace("\nsystems: {}\n", "\n" + SYSTEM), encoding="utf-8")
    (folder / "datasets").mkdir(exist_ok=True)
    (folder / "datasets" / "crm.yaml").write_text(annotations, encoding="utf-8")
    return manifest


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by key, values normalised across dialects."""
    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            result = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(_norm(v) for v in row) for row in result]
    return out
