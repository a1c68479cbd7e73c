"""Data-subject requests at scale: access and erasure through Charte vs hand-written optimal SQL, same run.

Builds a synthetic shop (default 1 million subjects, 10 million related rows over 7 tables, 3 levels of references)
on SQLite and PostgreSQL, then for each backend runs N access and N erasure requests through
:func:`charte.datastores.execute` (with its journal and ledger in an embedded SQLite store, the default set-up)
and the same work as hand-written SQL on a raw driver connection. Prints p50/p95 latency, the ratio, requests per
second and peak RSS.

    python benchmarks/dsr.py                       # full scale (long: builds 11 M rows per backend)
    python benchmarks/dsr.py --subjects 20000      # scaled down
    python benchmarks/dsr.py --backends sqlite --requests 200
    python benchmarks/dsr.py --journaled           # also hand-written SQL that journals and audits

Schema (rows per subject on average): subjects 1, orders 2, order_items 4 (2 per order), addresses 1, tickets 1,
ticket_messages 1, invoices 1 (2 for even subjects, none for odd ones; kept under the accounting hold, so even
subjects are masked and odd ones deleted).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing
import os
import random
import resource
import shutil
import sqlite3
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TABLES = {
    "subjects": "id BIGINT PRIMARY KEY, email VARCHAR(120), phone VARCHAR(30), full_name VARCHAR(120) "
                "NOT NULL, created_at DATE NOT NULL",
    "orders": "id BIGINT PRIMARY KEY, subject_id BIGINT NOT NULL REFERENCES subjects(id), placed_at DATE NOT NULL, "
              "amount INTEGER NOT NULL",
    "order_items": "id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL REFERENCES orders(id), product VARCHAR(40) "
                   "NOT NULL, price INTEGER NOT NULL",
    "addresses": "id BIGINT PRIMARY KEY, subject_id BIGINT NOT NULL REFERENCES subjects(id), street VARCHAR(120), "
                 "city VARCHAR(60), postcode VARCHAR(10)",
    "tickets": "id BIGINT PRIMARY KEY, subject_id BIGINT NOT NULL REFERENCES subjects(id), title VARCHAR(120), "
               "opened_at DATE NOT NULL",
    "ticket_messages": "id BIGINT PRIMARY KEY, ticket_id BIGINT NOT NULL REFERENCES tickets(id), body TEXT",
    "invoices": "id BIGINT PRIMARY KEY, subject_id BIGINT NOT NULL REFERENCES subjects(id), issued_at DATE NOT NULL, "
                "amount INTEGER NOT NULL",
}
INDEXES = [("subjects", "email"), ("orders", "subject_id"), ("order_items", "order_id"),
           ("addresses", "subject_id"), ("tickets", "subject_id"), ("ticket_messages", "ticket_id"),
           ("invoices", "subject_id")]

ANNOTATIONS = textwrap.dedent("""\
    dataset:
      key: bench
      collections:
        subjects:
          purposes: [identification, service_delivery, sales_billing]
          erasure: delete
          fields:
            id: {category: user.unique_id, primary_key: true}
            email: {category: user.contact.email, identity: email}
            phone: {category: user.contact.phone_number}
            full_name: {category: user.name, erasure: {mask: "[erased]"}}
            created_at: system.operations
        orders:
          erasure: delete
          fields:
            id: {primary_key: true}
            subject_id: {references: subjects.id}
            placed_at: user.behavior.purchase_history
            amount: user.behavior.purchase_history
        order_items:
          erasure: delete
          fields:
            id: {primary_key: true}
            order_id: {references: orders.id}
            product: user.behavior.purchase_history
            price: user.behavior.purchase_history
        addresses:
          erasure: delete
          fields:
            id: {primary_key: true}
            subject_id: {references: subjects.id}
            street: user.contact.address
            city: user.contact.address
            postcode: user.contact.address
        tickets:
          purposes: [technical_support]
          erasure: delete
          fields:
            id: {primary_key: true}
            subject_id: {references: subjects.id}
            title: user.content.private
            opened_at: system.operations
        ticket_messages:
          purposes: [technical_support]
          erasure: delete
          fields:
            id: {primary_key: true}
            ticket_id: {references: tickets.id}
            body: user.content.private
        invoices:
          legal_hold: {purpose: accounting, since: issued_at}
          fields:
            id: {primary_key: true}
            subject_id: {references: subjects.id}
            issued_at: user.financial
            amount: user.financial
    """)


def email_of(i: int) -> str:
    """The email of subject ``i``."""
    return f"subject{i}@example.com"


def rows(table: str, subjects: int, start: int = 1) -> Iterator[tuple[Any, ...]]:
    """The rows of ``table`` for subjects ``start``..``subjects``, generated on the fly (memory stays flat)."""
    for i in range(start, subjects + 1):
        day = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
        if table == "subjects":
            yield (i, email_of(i), f"06{i:08d}", f"Subject {i}", day)
        elif table == "orders":
            yield (2 * i, i, day, i % 1000)
            yield (2 * i + 1, i, day, i % 700)
        elif table == "order_items":
            for order in (2 * i, 2 * i + 1):
                yield (2 * order, order, "widget", 100)
                yield (2 * order + 1, order, "gadget", 250)
        elif table == "addresses":
            yield (i, i, f"{i % 200} rue de la Paix", "Nancy", f"54{i % 1000:03d}")
        elif table == "tickets":
            yield (i, i, "Impossible d'imprimer", day)
        elif table == "ticket_messages":
            yield (i, i, "Bonjour, le lecteur de carte ne répond plus.")
        elif table == "invoices" and i % 2 == 0:
            yield (2 * i, i, day, 1000)
            yield (2 * i + 1, i, day, 2000)


# --- building -------------------------------------------------------------------------------------------------


def build_sqlite(path: Path, subjects: int) -> None:
    """Create the database with executemany in large transactions, indexes after loading."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")  # loading only; the benchmark reopens with the defaults
    for table, columns in TABLES.items():
        db.execute(f"CREATE TABLE {table} ({columns})")
    for table in TABLES:
        width = len(next(rows(table, 2, 2)))
        insert = f"INSERT INTO {table} VALUES ({','.join('?' * width)})"
        batch = 200_000
        for start in range(1, subjects + 1, batch):
            with db:
                db.executemany(insert, rows(table, min(subjects, start + batch - 1), start))
    for table, column in INDEXES:
        db.execute(f"CREATE INDEX ix_{table}_{column} ON {table} ({column})")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("ANALYZE")
    db.commit()
    db.close()


def build_postgres(url: str, subjects: int) -> None:
    """Create the database with COPY (text format, large buffers), indexes after loading."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for table in reversed(list(TABLES)):
            conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        for table, columns in TABLES.items():
            conn.execute(f"CREATE UNLOGGED TABLE {table} ({columns})")
        for table in TABLES:
            with conn.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as copy:
                buffer = io.StringIO()
                for n, row in enumerate(rows(table, subjects), start=1):
                    buffer.write("\t".join(map(str, row)))
                    buffer.write("\n")
                    if n % 100_000 == 0:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                copy.write(buffer.getvalue())
        for table in TABLES:
            # Logged again, like a real database (an erasure must survive a crash).
            conn.execute(f"ALTER TABLE {table} SET LOGGED")
        for table, column in INDEXES:
            conn.execute(f"CREATE INDEX ix_{table}_{column} ON {table} ({column})")
        conn.execute("VACUUM ANALYZE")


# --- hand-written SQL -----------------------------------------------------------------------------------------


class HandWritten:
    """The optimal SQL a developer would write for this schema, on a raw driver connection."""

    def __init__(self, connect: Callable[[], Any], mark: str) -> None:
        self.conn = connect()
        self.mark = mark

    def _q(self, sql: str) -> str:
        return sql.replace("?", self.mark)

    def access(self, email: str) -> dict[str, list[Any]]:
        """Every row of the subject, one query per table."""
        cur = self.conn.cursor()
        out: dict[str, list[Any]] = {}
        cur.execute(self._q("SELECT * FROM subjects WHERE email = ?"), (email,))
        out["subjects"] = cur.fetchall()
        ids = tuple(r[0] for r in out["subjects"]) or (-1,)
        marks = ",".join([self.mark] * len(ids))
        for table in ("orders", "addresses", "tickets", "invoices"):
            cur.execute(f"SELECT * FROM {table} WHERE subject_id IN ({marks})", ids)
            out[table] = cur.fetchall()
        for child, parent, key in (("order_items", "orders", "order_id"), ("ticket_messages", "tickets", "ticket_id")):
            parents = tuple(r[0] for r in out[parent]) or (-1,)
            cur.execute(f"SELECT * FROM {child} WHERE {key} IN ({','.join([self.mark] * len(parents))})",
                        parents)
            out[child] = cur.fetchall()
        self.conn.commit()
        return out

    def erase(self, email: str) -> None:
        """Delete the subject's rows children first; mask the subject when invoices (kept) reference it."""
        cur = self.conn.cursor()
        cur.execute(self._q("SELECT id FROM subjects WHERE email = ?"), (email,))
        found = cur.fetchone()
        if found is None:
            self.conn.commit()
            return
        self.claimed(found[0])
        self._erase_subject(cur, found[0])
        self.conn.commit()
        self.committed(found[0])

    def claimed(self, subject_id: int) -> None:
        """Called before the subject's rows change (nothing to do here)."""

    def committed(self, subject_id: int) -> None:
        """Called once the erasure is committed (nothing to do here)."""

    def _erase_subject(self, cur: Any, sid: int) -> None:
        for sql in ("DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE subject_id = ?)",
                    "DELETE FROM orders WHERE subject_id = ?",
                    "DELETE FROM addresses WHERE subject_id = ?",
                    "DELETE FROM ticket_messages WHERE ticket_id IN (SELECT id FROM tickets WHERE subject_id = ?)",
                    "DELETE FROM tickets WHERE subject_id = ?"):
            cur.execute(self._q(sql), (sid,))
        cur.execute(self._q("SELECT 1 FROM invoices WHERE subject_id = ? LIMIT 1"), (sid,))
        if cur.fetchone():
            cur.execute(self._q("UPDATE subjects SET email = NULL, phone = NULL, full_name = '[erased]' "
                                "WHERE id = ?"), (sid,))
        else:
            cur.execute(self._q("DELETE FROM subjects WHERE id = ?"), (sid,))


class JournaledHandWritten(HandWritten):
    """Hand-written SQL made resumable and auditable by hand, as Charte is: each erasure is claimed in a journal
    database before the system's commit and marked done after it, with a hash-chained audit event; each access gets
    an audit event. The journal is an SQLite file in WAL mode with synchronous=NORMAL, like Charte's store."""

    def __init__(self, connect: Callable[[], Any], mark: str, journal: Path) -> None:
        super().__init__(connect, mark)
        for leftover in (journal, Path(f"{journal}-wal"), Path(f"{journal}-shm")):
            leftover.unlink(missing_ok=True)
        self.journal = sqlite3.connect(journal, isolation_level=None)  # statements commit unless in BEGIN
        self.journal.execute("PRAGMA journal_mode=WAL")
        self.journal.execute("PRAGMA synchronous=NORMAL")
        self.journal.execute("CREATE TABLE claims (request_id TEXT PRIMARY KEY, subject_id BIGINT, "
                             "status TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT)")
        self.journal.execute("CREATE TABLE audit (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, request_id TEXT, "
                             "payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")
        self.requests = iter(range(10**9))
        self.request_id = ""

    def _audit(self, kind: str, request_id: str, payload: str) -> None:
        head = self.journal.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        prev = head[0] if head else ""
        digest = hashlib.sha256(f"{prev}|{kind}|{request_id}|{payload}".encode()).hexdigest()
        self.journal.execute("INSERT INTO audit (kind, request_id, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?)",
                             (kind, request_id, payload, prev, digest))

    def access(self, email: str) -> dict[str, list[Any]]:
        """The hand-written access, then its audit event."""
        out = super().access(email)
        self.journal.execute("BEGIN IMMEDIATE")
        self._audit("access", f"a-{next(self.requests)}", json.dumps({t: len(rows) for t, rows in out.items()}))
        self.journal.execute("COMMIT")
        return out

    def claimed(self, subject_id: int) -> None:
        """Journal the erasure before the system's commit (its own transaction)."""
        self.request_id = f"e-{next(self.requests)}"
        self.journal.execute("INSERT INTO claims (request_id, subject_id, status, started_at) VALUES "
                             "(?, ?, 'prepared', datetime('now'))", (self.request_id, subject_id))

    def committed(self, subject_id: int) -> None:
        """Mark the erasure done, with its audit event, once the system has committed."""
        self.journal.execute("BEGIN IMMEDIATE")
        self.journal.execute("UPDATE claims SET status = 'done', finished_at = datetime('now') "
                             "WHERE request_id = ?", (self.request_id,))
        self._audit("erasure", self.request_id, json.dumps({"subject": subject_id}))
        self.journal.execute("COMMIT")


# --- measuring ------------------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Latencies of one kind of request."""

    label: str
    seconds: list[float]
    wall: float

    def p(self, q: float) -> float:
        """The q-th percentile in milliseconds."""
        ordered = sorted(self.seconds)
        return 1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def rate(self) -> float:
        """Requests per second, over the time spent in these requests."""
        return len(self.seconds) / self.wall


def measure_sides(labels: tuple[str, ...], functions: tuple[Callable[[str], Any], ...],
                  series: tuple[list[str], ...]) -> list[Timing]:
    """Time ways of doing the same request, alternating, so all see the same machine (caches, disk load)."""
    seconds: list[list[float]] = [[] for _ in labels]
    walls = [0.0] * len(labels)
    for emails in zip(*series, strict=True):
        for side, function in enumerate(functions):
            t0 = time.perf_counter()
            function(emails[side])
            elapsed = time.perf_counter() - t0
            seconds[side].append(elapsed)
            walls[side] += elapsed
    return [Timing(label, seconds[i], walls[i]) for i, label in enumerate(labels)]


def _manifest(folder: Path) -> Path:
    root = Path(__file__).resolve().parents[1]
    base = (root / "examples" / "equasens" / "charte.yaml").read_text(encoding="utf-8")
    system = ("systems:\n  bench:\n    name: Benchmark shop\n    url: ${BENCH_URL}\n    datasets:\n"
              "      - file: bench.yaml\n")
    (folder / "bench.yaml").write_text(ANNOTATIONS, encoding="utf-8")
    path = folder / "charte.yaml"
    path.write_text(base.replace("\nsystems: {}\n", "\n" + system), encoding="utf-8")
    return path


def run_backend(name: str, url: str, raw: Callable[[], Any], mark: str, subjects: int, requests: int,
                folder: Path, journaled: bool = False) -> list[Timing]:
    """Measure access and erasure, Charte and hand-written (and hand-written with a journal), on one backend."""
    from charte.datastores import dispose_engines, execute, load_systems
    from charte.manifest import load_manifest
    from charte.store import make_engine, migrate, session_factory

    manifest_path = _manifest(folder)
    manifest = load_manifest(manifest_path)
    systems = load_systems(manifest, manifest_path, environ={"BENCH_URL": url})
    store_file = folder / f"charte-{name}.db"
    for leftover in (store_file, Path(f"{store_file}-wal"), Path(f"{store_file}-shm")):
        leftover.unlink(missing_ok=True)  # a fresh journal: request ids repeat from one run to the next
    store_engine = make_engine(f"sqlite:///{store_file}")
    migrate(store_engine)
    store = session_factory(store_engine)
    rnd = random.Random(42)
    # Distinct subjects per series: erasures are destructive, and no series reads rows another one warmed.
    sides = 3 if journaled else 2
    picked = rnd.sample(range(1, subjects + 1), min(subjects, 2 * sides * requests + 200))
    series = [[email_of(i) for i in picked[k * requests:(k + 1) * requests]] for k in range(2 * sides)]
    warm = [email_of(i) for i in picked[2 * sides * requests:]]
    hand = HandWritten(raw, mark)
    by_hand = [hand]
    if journaled:
        by_hand.append(JournaledHandWritten(raw, mark, folder / f"journal-{name}.db"))
    counter = iter(range(10**9))

    def charte(kind: str) -> Callable[[str], Any]:
        def run(email: str) -> Any:
            report = execute(kind, {"email": email}, manifest=manifest, systems=systems,  # type: ignore[arg-type]
                             store=store, request_id=f"{name}-{kind}-{next(counter)}", actor="benchmark")
            if not report.ok:
                raise RuntimeError(report.to_dict())
            return report
        return run

    for email in warm[:100]:
        charte("access")(email)
        for side in by_hand:
            side.access(email)
    labels = (*("hand-written", "hand+journal")[:sides - 1], "Charte")
    timings = [
        *measure_sides(tuple(f"access  {label}" for label in labels),
                       (*(side.access for side in by_hand), charte("access")), tuple(series[:sides])),
        *measure_sides(tuple(f"erasure {label}" for label in labels),
                       (*(side.erase for side in by_hand), charte("erasure")), tuple(series[sides:])),
    ]
    # The erasures did what they say: an erased subject is not found any more, by Charte or by hand.
    assert not any(hand.access(erased[0])["subjects"] for erased in series[sides:])
    dispose_engines()
    store_engine.dispose()
    return timings


def report(backend: str, subjects: int, timings: list[Timing]) -> None:
    """Print one backend's table."""
    by = {t.label: t for t in timings}
    print(f"\n{backend}: {subjects:,} subjects, {subjects * 10:,} related rows")
    print(f"{'':24}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>9}")
    for t in timings:
        print(f"{t.label:24}{t.p(50):9.2f}{t.p(95):9.2f}{t.rate:9.0f}")
    for kind, target in (("access", 20), ("erasure", 30)):
        mine, theirs = by[f"{kind:7} Charte"], by[f"{kind:7} hand-written"]
        ratio = mine.p(50) / theirs.p(50)
        print(f"{kind:8} Charte/hand-written p50 ratio {ratio:.2f} (target <= 2); p50 {mine.p(50):.2f} ms "
              f"(target <= {target} ms)")
        journaled = by.get(f"{kind:7} hand+journal")
        if journaled is not None:
            print(f"{kind:8} Charte/hand-written with a journal p50 ratio {mine.p(50) / journaled.p(50):.2f}")


def _build(backend: str, target: str, subjects: int) -> float:
    started = time.perf_counter()
    if backend == "sqlite":
        build_sqlite(Path(target), subjects)
    else:
        build_postgres(target, subjects)
    return time.perf_counter() - started


def _build_in_child(backend: str, target: str, subjects: int) -> None:
    # Built in a child process: the peak RSS printed at the end is the one of the process serving requests.
    with multiprocessing.get_context("fork").Pool(1) as pool:
        seconds = pool.apply(_build, (backend, target, subjects))
    print(f"{backend}: built {subjects * 11:,} rows in {seconds:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subjects", type=int, default=1_000_000, help="subjects (10 related rows each)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per series")
    parser.add_argument("--backends", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "CHARTE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="server to create the benchmark database on (libpq URL)")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the SQLite files (default: temp)")
    parser.add_argument("--reuse", action="store_true", help="reuse the pristine data built by an earlier run")
    parser.add_argument("--journaled", action="store_true",
                        help="also time hand-written SQL that journals and audits as Charte does (a third side)")
    args = parser.parse_args()
    sides = 3 if args.journaled else 2
    if args.requests < 1 or args.subjects < 2 * sides * args.requests + 200:
        # Each request has a subject of its own: erasures destroy, and no series reads rows another one warmed.
        parser.error(f"--subjects must be at least {2 * sides} times --requests plus 200")
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="charte-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"Charte DSR benchmark: {args.subjects:,} subjects, {args.requests} requests per series, in {folder}")
    for backend in args.backends.split(","):
        # The data is built once into a pristine copy; each run works on a fresh copy of it (erasures destroy).
        if backend == "sqlite":
            pristine = folder / f"bench-{args.subjects}.pristine.db"
            target = str(folder / f"bench-{args.subjects}.db")
            url, mark = f"sqlite:///{target}", "?"
            if not (args.reuse and pristine.exists()):
                _build_in_child(backend, str(pristine), args.subjects)
            for leftover in (Path(target), Path(f"{target}-wal"), Path(f"{target}-shm")):
                leftover.unlink(missing_ok=True)  # a stale WAL next to a fresh copy would corrupt it
            shutil.copyfile(pristine, target)

            def raw(target: str = target) -> Any:
                return sqlite3.connect(target)
        else:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict, make_conninfo

            admin = args.postgres_url
            pristine_name, dbname = f"charte_bench_{args.subjects}_pristine", f"charte_bench_{args.subjects}"
            with psycopg.connect(admin, autocommit=True) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (pristine_name,)).fetchone()
            if not (args.reuse and exists):
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{pristine_name}" WITH (FORCE)')
                    conn.execute(f'CREATE DATABASE "{pristine_name}"')
                _build_in_child(backend, make_conninfo(admin, dbname=pristine_name), args.subjects)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{dbname}" TEMPLATE "{pristine_name}"')
            target = make_conninfo(admin, dbname=dbname)
            info = conninfo_to_dict(target)
            url = (f"postgresql+psycopg://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:"
                   f"{info.get('port', 5432)}/{dbname}")
            mark = "%s"

            def raw(target: str = target) -> Any:
                return psycopg.connect(target)
        timings = run_backend(backend, url, raw, mark, args.subjects, args.requests, folder, args.journaled)
        report(backend, args.subjects, timings)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of the process executing the requests: {peak:.0f} MB (target <= 150 MB)")


if __name__ == "__main__":
    main()
