"""The demo's customer database: Equasens' CRM, billing, support, web analytics and recruitment, in SQLite.

Generated with Faker's fr_FR locale from a fixed seed (the same demo every time), a few thousand rows so that
``charte demo`` starts in a second or two. :data:`DEMO_SUBJECT` appears everywhere (customer, prospect,
newsletter, invoices, support, visits) so every right has something to show.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

#: A customer present in every table; the demo prints it so rights can be tried on it.
DEMO_SUBJECT = "marie.dupont@pharmacie-des-tilleuls.fr"
ANNOTATIONS = "demo_crm.yaml"

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    customer_number TEXT NOT NULL UNIQUE,
    pharmacy TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    email TEXT UNIQUE,
    phone TEXT,
    address TEXT,
    postcode TEXT,
    city TEXT,
    created_at TEXT NOT NULL,
    restricted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE prospects (
    id INTEGER PRIMARY KEY,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    pharmacy TEXT,
    phone TEXT,
    job_title TEXT,
    source TEXT,
    last_contact_at TEXT
);
CREATE TABLE newsletter_subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    customer_id INTEGER REFERENCES customers(id),
    subscribed_at TEXT NOT NULL,
    consent_ip TEXT
);
CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    issued_at TEXT NOT NULL,
    billing_name TEXT NOT NULL,
    billing_address TEXT NOT NULL,
    total_cents INTEGER NOT NULL
);
CREATE TABLE invoice_lines (
    id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices(id),
    product TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL
);
CREATE TABLE support_tickets (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    opened_at TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT,
    status TEXT NOT NULL
);
CREATE TABLE ticket_messages (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES support_tickets(id),
    sent_at TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT
);
CREATE TABLE web_visits (
    id INTEGER PRIMARY KEY,
    visitor_id TEXT,
    customer_id INTEGER REFERENCES customers(id),
    ip_address TEXT,
    url TEXT NOT NULL,
    user_agent TEXT,
    visited_at TEXT NOT NULL
);
CREATE TABLE candidates (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    phone TEXT,
    address TEXT,
    position TEXT,
    applied_at TEXT NOT NULL,
    cv_text TEXT
);
CREATE INDEX ix_customers_phone ON customers(phone);
CREATE INDEX ix_prospects_email ON prospects(email);
CREATE INDEX ix_prospects_phone ON prospects(phone);
CREATE INDEX ix_newsletter_customer ON newsletter_subscribers(customer_id);
CREATE INDEX ix_invoices_customer ON invoices(customer_id);
CREATE INDEX ix_invoice_lines_invoice ON invoice_lines(invoice_id);
CREATE INDEX ix_tickets_customer ON support_tickets(customer_id);
CREATE INDEX ix_messages_ticket ON ticket_messages(ticket_id);
CREATE INDEX ix_visits_customer ON web_visits(customer_id);
CREATE INDEX ix_visits_visitor ON web_visits(visitor_id);
CREATE INDEX ix_candidates_email ON candidates(email);
CREATE INDEX ix_candidates_phone ON candidates(phone);
"""

PRODUCTS = [("LGPI Global Services - abonnement mensuel", 34900), ("Module ordonnancier", 4900),
            ("Formation LGPI (1 jour)", 65000), ("Terminal de paiement", 12900), ("Lecteur carte Vitale", 8900),
            ("Maintenance annuelle", 120000), ("Hébergement des données de santé", 9900)]
TICKET_SUBJECTS = ["Impossible d'imprimer les ordonnances", "Erreur de télétransmission SESAM-Vitale",
                   "Lecteur de carte Vitale non reconnu", "Question sur la facture", "Mise à jour LGPI bloquée",
                   "Stock négatif sur une référence", "Demande de formation"]
PATIENT_NOTES = ["Le patient M. {name} (ordonnance du {day}) n'apparaît plus dans l'historique.",
                 "Traitement {drug} de Mme {name} mal tarifé après la mise à jour.",
                 "Dossier pharmaceutique de {name} inaccessible depuis ce matin."]
DRUGS = ["Lévothyrox", "Metformine", "Doliprane", "Amoxicilline", "Kardégic", "Ventoline"]
PAGES = ["/", "/logiciels/lgpi", "/offres", "/contact", "/formations", "/blog/facturation-electronique",
         "/espace-client", "/recrutement"]
POSITIONS = ["Développeur Python", "Technicien support officine", "Chef de projet", "Commercial terrain",
             "Formateur LGPI"]


def annotations_text() -> str:
    """The demo database's dataset annotations (YAML)."""
    return (resources.files("charte") / ANNOTATIONS).read_text(encoding="utf-8")


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat(sep=" ")


def build_crm(path: Path, *, seed: int = 2020, customers: int = 300) -> dict[str, int]:
    """Create the demo database at ``path`` (replacing it); return the row count of each table."""
    from faker import Faker

    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rnd = random.Random(seed)  # noqa: S311 - reproducible demo data, nothing secret
    now = datetime(2026, 11, 20, 10, 0, 0)
    path.unlink(missing_ok=True)
    rows: dict[str, list[tuple[object, ...]]] = {t: [] for t in (
        "customers", "prospects", "newsletter_subscribers", "invoices", "invoice_lines", "support_tickets",
        "ticket_messages", "web_visits", "candidates")}
    people = []
    for i in range(1, customers + 1):
        first, last = fake.first_name(), fake.last_name()
        pharmacy = f"Pharmacie {rnd.choice(['du Centre', 'de la Gare', 'des Tilleuls', 'du Marché', last])}"
        email = f"{first}.{last}.{i}@{fake.free_email_domain()}".lower().replace(" ", "")
        phone = fake.phone_number()
        if i == 1:
            first, last, pharmacy, email, phone = "Marie", "Dupont", "Pharmacie des Tilleuls", DEMO_SUBJECT, \
                "06 12 34 56 78"
        created = now - timedelta(days=rnd.randint(200, 4000))
        people.append((i, first, last, email, phone, pharmacy, created))
        rows["customers"].append((i, f"C{i:06d}", pharmacy, first, last, email, phone, fake.street_address(),
                                  fake.postcode(), fake.city(), _stamp(created), 0))
    invoice_id = line_id = ticket_id = message_id = 0
    for i, first, last, email, _phone, _pharmacy, created in people:
        address = rows["customers"][i - 1][7]
        for _ in range(rnd.randint(1, 5) if i > 1 else 4):
            invoice_id += 1
            issued = created + timedelta(days=rnd.randint(0, (now - created).days))
            lines = [rnd.choice(PRODUCTS) for _ in range(rnd.randint(1, 3))]
            total = 0
            for product, price in lines:
                line_id += 1
                quantity = rnd.randint(1, 3)
                total += quantity * price
                rows["invoice_lines"].append((line_id, invoice_id, product, quantity, price))
            rows["invoices"].append((invoice_id, f"F{issued.year}-{invoice_id:06d}", i, _stamp(issued),
                                     f"{first} {last}", address, total))
        if i == 1 or rnd.random() < 0.6:
            rows["newsletter_subscribers"].append((len(rows["newsletter_subscribers"]) + 1, email, i,
                                                   _stamp(created + timedelta(days=3)), fake.ipv4_public()))
        for _ in range(rnd.randint(0, 3) if i > 1 else 2):
            ticket_id += 1
            opened = now - timedelta(days=rnd.randint(1, 900))
            note = rnd.choice(PATIENT_NOTES).format(name=fake.last_name(), day=fake.date(), drug=rnd.choice(DRUGS))
            rows["support_tickets"].append((ticket_id, i, _stamp(opened), rnd.choice(TICKET_SUBJECTS),
                                            f"Bonjour, {note} Merci, {first} {last}", rnd.choice(["ouvert", "résolu"])))
            for k in range(rnd.randint(1, 3)):
                message_id += 1
                author = "client" if k % 2 == 0 else "support"
                rows["ticket_messages"].append((message_id, ticket_id, _stamp(opened + timedelta(hours=k * 5)),
                                                author, fake.paragraph(nb_sentences=2)))
        visitor = f"v{rnd.getrandbits(48):012x}"
        ip = fake.ipv4_public()
        for _ in range(rnd.randint(2, 12)):
            rows["web_visits"].append((len(rows["web_visits"]) + 1, visitor, i, ip, rnd.choice(PAGES),
                                       fake.user_agent(), _stamp(now - timedelta(minutes=rnd.randint(1, 500000)))))
    for k in range(customers):
        rows["web_visits"].append((len(rows["web_visits"]) + 1, f"v{rnd.getrandbits(48):012x}", None,
                                   fake.ipv4_public(), rnd.choice(PAGES), fake.user_agent(),
                                   _stamp(now - timedelta(minutes=rnd.randint(1, 500000 + k)))))
    prospects = [(p[3], p[1], p[2], p[5], p[4]) for p in people[:40]]  # customers first met as prospects
    for _ in range(200):
        first, last = fake.first_name(), fake.last_name()
        prospects.append((f"{first}.{last}@{fake.free_email_domain()}".lower().replace(" ", ""), first, last,
                          f"Pharmacie {last}", fake.phone_number()))
    for n, (email, first, last, pharmacy, phone) in enumerate(prospects, start=1):
        role = rnd.choice(["Pharmacien titulaire", "Préparateur", "Pharmacien adjoint"])
        source = rnd.choice(["salon", "site web", "partenaire", "annuaire public"])
        contact = _stamp(now - timedelta(days=rnd.randint(1, 1500)))
        rows["prospects"].append((n, email, first, last, pharmacy, phone, role, source, contact))
    for n in range(1, 121):
        first, last = fake.first_name(), fake.last_name()
        rows["candidates"].append((n, f"{first}.{last}@{fake.free_email_domain()}".lower().replace(" ", ""), first,
                                   last, fake.phone_number(), fake.address().replace("\n", ", "),
                                   rnd.choice(POSITIONS), fake.date_between(date(2024, 1, 1), date(2026, 11, 1))
                                   .isoformat(), fake.paragraph(nb_sentences=4)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        for name, values in rows.items():
            if values:
                marks = ",".join("?" * len(values[0]))
                db.executemany(f"INSERT INTO {name} VALUES ({marks})", values)  # noqa: S608 - fixed table names
    db.close()
    return {name: len(values) for name, values in rows.items()}
