"""External realism: the Chinook database (third-party), discovered, annotated, then access and erasure for a real
customer whose invoices stay under the accounting hold. Skipped when the shared dataset is absent."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from charte.anonymise import Keyring
from charte.datastores import RequestType, discover, dispose_engines, draft_yaml, execute, load_systems
from charte.manifest import check_file, load_manifest
from charte.store import make_engine, migrate, session_factory

from .conftest import EXAMPLE_MANIFEST, ROOT
from .datastores_support import write_manifest

CHINOOK = (ROOT.parent / "shared" / "datasets" / "chinook").resolve()
if not CHINOOK.is_dir():
    CHINOOK = Path("/work/shared/datasets/chinook")

#: Table and column names of each flavour of the dataset.
NAMES = {
    "sqlite": {"customer": "Customer", "invoice": "Invoice", "line": "InvoiceLine", "employee": "Employee",
               "email": "Email", "customer_id": "CustomerId", "invoice_id": "InvoiceId", "date": "InvoiceDate",
               "first": "FirstName", "phone": "Phone"},
    "postgres": {"customer": "customer", "invoice": "invoice", "line": "invoice_line", "employee": "employee",
                 "email": "email", "customer_id": "customer_id", "invoice_id": "invoice_id", "date": "invoice_date",
                 "first": "first_name", "phone": "phone"},
}


@pytest.fixture(params=["sqlite", "postgres"])
def chinook(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A private copy of Chinook: the SQLite file, or the PostgreSQL script loaded into a new database."""
    if not CHINOOK.is_dir():
        pytest.skip(f"the shared Chinook dataset is absent ({CHINOOK}); this realism test needs it")
    if request.param == "sqlite":
        target = tmp_path / "chinook.db"
        shutil.copyfile(CHINOOK / "Chinook_Sqlite.sqlite", target)
        return f"sqlite:///{target}", NAMES["sqlite"]
    url = str(request.getfixturevalue("postgres_url"))
    if not shutil.which("psql"):
        pytest.skip("psql is needed to load the PostgreSQL flavour of Chinook")
    script = (CHINOOK / "Chinook_PostgreSql.sql").read_text(encoding="utf-8")
    # The script creates and switches to its own database; load it into the test's database instead.
    script = re.sub(r"^(DROP DATABASE|CREATE DATABASE|\\c ).*$", "", script, flags=re.MULTILINE)
    (tmp_path / "chinook.sql").write_text(script, encoding="utf-8")
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["psql", plain, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(tmp_path / "chinook.sql")],
                   check=True, capture_output=True)
    return url, NAMES["postgres"]


def _annotate(draft: str) -> str:
    # The reviewer's part: Equasens' manifest knows phone numbers, not fax numbers or dates of birth.
    return draft.replace("user.contact.fax_number", "user.contact.phone_number").replace(
        "{category: user.demographic.date_of_birth}", "{erasure: null}")


def _norm(row: Any) -> tuple[Any, ...]:
    return tuple(v.isoformat() if isinstance(v, date | datetime) else v for v in row)


def test_chinook_discover_annotate_access_erase(chinook: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, n = chinook
    draft = discover(url, manifest=load_manifest(EXAMPLE_MANIFEST), key="chinook")
    collections = draft.dataset["collections"]
    assert {n["customer"], n["invoice"], n["line"], n["employee"]} <= set(collections)
    assert "legal_hold" in collections[n["invoice"]] and "legal_hold" in collections[n["line"]]
    customer_fields = collections[n["customer"]]["fields"]
    assert customer_fields[n["email"]]["identity"] == "email"
    assert customer_fields[n["first"]]["category"].startswith("user.name")
    system = ("systems:\n  chinook:\n    name: Chinook\n    url: ${CHINOOK_URL}\n"
              "    datasets:\n      - file: chinook.yaml\n")
    manifest_path = write_manifest(tmp_path / "ws", _annotate(draft_yaml(draft)), system, "chinook.yaml")
    result = check_file(manifest_path)
    assert result.ok, [p.format("m") for p in result.errors]
    manifest = load_manifest(manifest_path)
    systems = load_systems(manifest, manifest_path, environ={"CHINOOK_URL": url})
    store = make_engine(f"sqlite:///{tmp_path / 'charte.db'}")
    migrate(store)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            q = {k: conn.dialect.identifier_preparer.quote(v) for k, v in n.items()}
            email, customer_id = conn.execute(text(
                f"SELECT {q['email']}, {q['customer_id']} FROM {q['customer']} c WHERE (SELECT COUNT(*) FROM "
                f"{q['invoice']} i WHERE i.{q['customer_id']} = c.{q['customer_id']}) > 0 "
                f"ORDER BY {q['customer_id']} LIMIT 1")).one()
            invoices = set(conn.execute(text(f"SELECT {q['invoice_id']} FROM {q['invoice']} WHERE "
                                             f"{q['customer_id']} = :c"), {"c": customer_id}).scalars())
            lines_before = sorted(map(_norm, conn.execute(text(f"SELECT * FROM {q['line']}"))))
            invoices_before = sorted(map(_norm, conn.execute(text(f"SELECT * FROM {q['invoice']}"))))
            employees_before = sorted(map(_norm, conn.execute(text(f"SELECT * FROM {q['employee']}"))))
            customers = conn.execute(text(f"SELECT COUNT(*) FROM {q['customer']}")).scalar_one()
            last_year = max(_norm([d])[0][:4] for d in conn.execute(text(
                f"SELECT {q['date']} FROM {q['invoice']} WHERE {q['customer_id']} = :c"), {"c": customer_id}).scalars())
            line_count = conn.execute(text(f"SELECT COUNT(*) FROM {q['line']} WHERE {q['invoice_id']} IN (SELECT "
                                           f"{q['invoice_id']} FROM {q['invoice']} WHERE {q['customer_id']} = :c)"),
                                      {"c": customer_id}).scalar_one()

        def run(kind: RequestType) -> Any:
            report = execute(kind, {"email": email}, manifest=manifest, systems=systems,
                             store=session_factory(store), request_id=uuid.uuid4().hex,
                             keyring=Keyring.generate("c1"))
            assert report.ok, report.to_dict()
            return report

        access = run("access")
        found = {c.name: c for c in access.systems[0].collections}
        assert {r[n["invoice_id"]] for r in found[n["invoice"]].rows} == invoices
        assert found[n["line"]].found == line_count
        assert n["employee"] not in found or found[n["employee"]].found == 0, "the support rep is someone else"
        erasure = run("erasure")
        kept = {k.collection: k for k in erasure.kept()}
        assert kept[n["invoice"]].rows == len(invoices) and kept[n["line"]].rows == line_count
        assert kept[n["invoice"]].until == date(int(last_year) + 10, 12, 31)
        with engine.connect() as conn:
            assert sorted(map(_norm, conn.execute(text(f"SELECT * FROM {q['invoice']}")))) == invoices_before
            assert sorted(map(_norm, conn.execute(text(f"SELECT * FROM {q['line']}")))) == lines_before
            assert sorted(map(_norm, conn.execute(text(f"SELECT * FROM {q['employee']}")))) == employees_before
            assert conn.execute(text(f"SELECT COUNT(*) FROM {q['customer']}")).scalar_one() == customers
            masked = conn.execute(text(f"SELECT {q['email']}, {q['first']}, {q['phone']} FROM {q['customer']} "
                                       f"WHERE {q['customer_id']} = :c"), {"c": customer_id}).one()
            assert tuple(masked) == ("[effacé]", "[effacé]", None)
            assert conn.execute(text(f"SELECT COUNT(*) FROM {q['customer']} WHERE {q['email']} = :e"),
                                {"e": email}).scalar_one() == 0
    finally:
        engine.dispose()
        dispose_engines()
        store.dispose()
