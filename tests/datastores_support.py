"""A small shop schema for the datastores tests: the same tables and rows on SQLite, PostgreSQL and MariaDB.

people (identity: email, phone) ── orders ── order_items
   │  ├─ invoices (legal hold: accounting, since issued_at)
   │  ├─ visits (masked: IP truncated, visitor pseudonymised, link cut)
   │  └─ tags (composite primary key)
notes (identity: subject_email, no foreign key)
"""

from __future__ import annotations

import textwrap
from datetime import date, datetime
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
    Text,
    select,
    text,
)

from .conftest import EXAMPLE_MANIFEST
from .db_support import create_and_fill

metadata = MetaData()
people = Table("people", metadata,
               Column("id", Integer, primary_key=True, autoincrement=False),
               Column("email", String(200), nullable=False),
               Column("phone", String(40)),
               Column("full_name", String(200), nullable=False),
               Column("birth_date", Date),
               Column("restricted", Integer, nullable=False, default=0))
orders = Table("orders", metadata,
               Column("id", Integer, primary_key=True, autoincrement=False),
               Column("person_id", Integer, ForeignKey("people.id"), nullable=False),
               Column("placed_at", DateTime, nullable=False),
               Column("shipping_address", String(200)))
order_items = Table("order_items", metadata,
                    Column("id", Integer, primary_key=True, autoincrement=False),
                    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False),
                    Column("product", String(100), nullable=False),
                    Column("price", Integer, nullable=False))
invoices = Table("invoices", metadata,
                 Column("id", Integer, primary_key=True, autoincrement=False),
                 Column("person_id", Integer, ForeignKey("people.id"), nullable=False),
                 Column("issued_at", Date, nullable=False),
                 Column("billing_name", String(200), nullable=False),
                 Column("amount", Integer, nullable=False))
visits = Table("visits", metadata,
               Column("id", Integer, primary_key=True, autoincrement=False),
               Column("person_id", Integer, ForeignKey("people.id")),
               Column("ip", String(45)),
               Column("visitor", String(100)),
               Column("url", String(200), nullable=False))
tags = Table("tags", metadata,
             Column("person_id", Integer, ForeignKey("people.id"), primary_key=True, autoincrement=False),
             Column("tag", String(40), primary_key=True))
notes = Table("notes", metadata,
              Column("id", Integer, primary_key=True, autoincrement=False),
              Column("subject_email", String(200), nullable=False),
              Column("body", Text))

ALICE, BOB = "alice@example.com", "bob@example.com"

PEOPLE = [
    (1, ALICE, "06 12 34 56 78", "Alice Martin", date(1980, 4, 2), 0),
    (2, BOB, "+33 7 00 00 00 02", "Bob Durand", date(1991, 1, 9), 0),
    (3, "chloe@example.com", None, "Chloé Petit", None, 0),
    (4, "david@example.com", "06 00 00 00 04", "David Roux", date(1975, 12, 30), 0),
    (5, "emma@example.com", None, "Emma Blanc", None, 0),
]


def rows() -> dict[Table, list[dict[str, Any]]]:
    """The rows of every table."""
    data: dict[Table, list[dict[str, Any]]] = {t: [] for t in metadata.sorted_tables}
    for pid, email, phone, name, born, restricted in PEOPLE:
        data[people].append({"id": pid, "email": email, "phone": phone, "full_name": name, "birth_date": born,
                             "restricted": restricted})
    item_id = 0
    for order_id, pid in enumerate((1, 1, 2, 3, 4, 4, 5), start=1):
        data[orders].append({"id": order_id, "person_id": pid, "placed_at": datetime(2024, pid, order_id, 12, 0),
                             "shipping_address": f"{pid} rue de la Paix, 5400{pid} Nancy"})
        for k in range(1 + order_id % 3):
            item_id += 1
            data[order_items].append({"id": item_id, "order_id": order_id, "product": f"P{k}", "price": 100 * k + 5})
    issued_dates = ((1, date(2023, 5, 10)), (1, date(2024, 2, 1)), (3, date(2022, 7, 1)), (4, date(2021, 3, 3)))
    for invoice_id, (pid, issued) in enumerate(issued_dates, start=1):
        data[invoices].append({"id": invoice_id, "person_id": pid, "issued_at": issued,
                               "billing_name": next(p[3] for p in PEOPLE if p[0] == pid), "amount": 1000 + invoice_id})
    for visit_id, visitor in enumerate((1, 1, 1, 2, None, 3, 4), start=1):
        data[visits].append({"id": visit_id, "person_id": visitor, "ip": f"192.168.{visit_id}.{70 + visit_id}",
                             "visitor": f"visitor-{visitor}", "url": f"/page/{visit_id}"})
    data[tags] = [{"person_id": 1, "tag": "vip"}, {"person_id": 1, "tag": "pro"}, {"person_id": 2, "tag": "new"},
                  {"person_id": 4, "tag": "vip"}]
    data[notes] = [{"id": 1, "subject_email": ALICE, "body": "Called about her order"},
                   {"id": 2, "subject_email": "carol@example.com", "body": "Prospect"},
                   {"id": 3, "subject_email": BOB, "body": "Asked for a refund"}]
    return data


def create_shop(url: str) -> Engine:
    """Create and fill the schema at ``url``; return a plain engine for the test's own SQL."""
    return create_and_fill(url, metadata, rows())


ANNOTATIONS = textwrap.dedent("""\
    dataset:
      key: shop
      collections:
        people:
          purposes: [identification, service_delivery, sales_billing]
          erasure: delete
          restriction: {column: restricted, value: 1}
          fields:
            id: {category: user.unique_id, primary_key: true, identity: customer_id}
            email: {category: user.contact.email, identity: email, erasure: pseudonym}
            phone: {category: user.contact.phone_number, identity: phone_number}
            full_name: {category: user.name, erasure: {mask: "[erased]"}}
            birth_date: {erasure: null}
        orders:
          erasure: delete
          fields:
            id: {primary_key: true}
            person_id: {references: people.id}
            placed_at: user.behavior.purchase_history
            shipping_address: user.contact.address
        order_items:
          erasure: delete
          fields:
            id: {primary_key: true}
            order_id: {references: orders.id}
            product: user.behavior.purchase_history
            price: user.behavior.purchase_history
        invoices:
          legal_hold: {purpose: accounting, reason: Factures (10 ans), since: issued_at}
          fields:
            id: {primary_key: true}
            person_id: {references: people.id}
            issued_at: user.financial
            billing_name: user.name
            amount: user.financial
        visits:
          purposes: [audience_measurement]
          erasure: mask
          fields:
            id: {primary_key: true}
            person_id: {references: people.id, erasure: null}
            ip: {category: user.device.ip_address, erasure: truncate_ip}
            visitor: {category: user.device.cookie_id, erasure: pseudonym}
            url: {category: user.behavior.browsing_history, erasure: keep}
        tags:
          erasure: delete
          primary_key: [person_id, tag]
          fields:
            person_id: {references: people.id}
            tag: user.behavior.purchase_history
        notes:
          purposes: [contact_requests]
          erasure: delete
          fields:
            id: {primary_key: true}
            subject_email: {category: user.contact.email, identity: email}
            body: user.content.private
    """)

SYSTEM = textwrap.dedent("""\
    systems:
      shop:
        name: Boutique
        url: ${SHOP_URL}
        purposes: [identification, service_delivery, sales_billing, accounting, audience_measurement,
                   contact_requests, customer_analysis]
        datasets:
          - file: datasets/shop.yaml
    """)


def write_manifest(folder: Path, annotations: str = ANNOTATIONS, system: str = SYSTEM,
                   dataset_file: str = "datasets/shop.yaml") -> Path:
    """The example manifest with the shop system, and its annotation file, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    base = EXAMPLE_MANIFEST.read_text(encoding="utf-8")
    assert "\nsystems: {}\n" in base
    manifest = folder / "charte.yaml"
    manifest.write_text(base.replace("\nsystems: {}\n", "\n" + system), encoding="utf-8")
    target = folder / dataset_file
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(annotations, encoding="utf-8")
    return manifest


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted, with values normalised for comparison across dialects."""
    def norm(value: Any) -> Any:
        return value.isoformat() if isinstance(value, date | datetime) else value

    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            result = conn.execute(select(table)).all()
            out[table.name] = sorted((tuple(norm(v) for v in row) for row in result), key=repr)
    return out


def sql_ids(engine: Engine, query: str, **params: Any) -> set[Any]:
    """First column of a plain SQL query, as a set."""
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(text(query), params)}
