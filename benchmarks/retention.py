"""Retention sweep throughput on PostgreSQL: ``charte retention run`` against hand-written set-based SQL.

Two identical copies of an analytics log (``visits_a``, ``visits_b``) are built with ``generate_series``, visits
spread evenly over the last 36 months in key order (a log is appended in time order). On each copy, in the same
run, the same two retention steps are applied:

1. delete after 25 months (one DELETE per batch);
2. anonymise after 13 months: ``user_agent`` set to NULL (a constant strategy: one UPDATE per batch).

(Charte runs a collection's plain deletes before its other rules; the hand-written side does the same.)

Charte's domain function (``run_retention``: keyset batches, a transaction per batch, the progress journal in
Charte's store, a ledger event per collection) runs on ``visits_a``; one ``UPDATE`` and one ``DELETE`` statement
with the same cutoffs run on ``visits_b``. The script prints rows/s of both and their ratio (target >= 0.8), and
checks that both copies ended up identical. Both sides start after a CHECKPOINT, autovacuum is off on both tables,
and with ``--repeat`` rounds alternate which side runs first (the machine's noise is reported, not hidden).

    python benchmarks/retention.py                 # 10 million rows
    python benchmarks/retention.py --rows 1000000 --repeat 3  # scaled down, three rounds
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from charte.config import Settings
from charte.datastores import dispose_engines, load_systems
from charte.manifest import load_manifest
from charte.manifest.durations import Duration
from charte.retention import BatchDone, run_retention
from charte.retention.rules import Expiry
from charte.store import make_engine, migrate, session_factory

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("CHARTE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

ANNOTATIONS = textwrap.dedent("""\
    dataset:
      key: analytics
      collections:
        visits:
          table: visits_a
          purposes: [audience_measurement]
          retention:
            - {field: visited_at, period: P13M, action: anonymise, fields: {user_agent: null}}
            - {field: visited_at, period: P25M, action: delete}
          fields:
            id: {primary_key: true}
            ip: {category: user.device.ip_address, erasure: truncate_ip}
            visitor: {category: user.device.cookie_id, erasure: pseudonym}
            user_agent: system.operations
            url: {category: user.behavior.browsing_history, erasure: keep}
            visited_at: system.operations
    """)
SYSTEM = textwrap.dedent("""\
    systems:
      analytics:
        name: Analytics
        url: ${ANALYTICS_URL}
        purposes: [audience_measurement]
        datasets:
          - file: analytics.yaml
    """)


def build(engine: Engine, rows: int) -> None:
    """Fill visits_a with ``rows`` visits by generate_series, then copy it to visits_b (same rows, same order)."""
    spread = 36 * 30.44 * 86400  # seconds in 36 months
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE visits_a (id bigint NOT NULL, ip text, visitor text, user_agent text, "
                          "url text NOT NULL, visited_at timestamptz NOT NULL)"))
        conn.execute(text(
            "INSERT INTO visits_a SELECT g, (g % 223) || '.' || (g % 251) || '.' || (g % 241) || '.' || (g % 239), "
            "'v' || (g % 100000), 'Mozilla/5.0 agent ' || (g % 17), '/page/' || (g % 1000), "
            ":now - make_interval(secs => :spread * (1 - g::float8 / :rows)) FROM generate_series(1, :rows) AS g"),
            {"now": NOW, "spread": spread, "rows": rows})
        conn.execute(text("ALTER TABLE visits_a ADD PRIMARY KEY (id)"))
        conn.execute(text("CREATE TABLE visits_b AS SELECT * FROM visits_a ORDER BY id"))
        conn.execute(text("ALTER TABLE visits_b ADD PRIMARY KEY (id)"))
        for name in ("visits_a", "visits_b"):
            # Autovacuum would start on visits_a while batches commit (the single statement commits only at its
            # end) and compete with the run being measured on a small machine: both sides run without it.
            conn.execute(text(f"ALTER TABLE {name} SET (autovacuum_enabled = off)"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE visits_a"))
        conn.execute(text("VACUUM ANALYZE visits_b"))


def checkpoint(engine: Engine) -> None:
    """Flush dirty pages now, so that neither side pays for a checkpoint the other's writes made due."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))


def timed(step: Callable[[], int]) -> tuple[int, float]:
    """Rows changed by ``step`` and the seconds it took."""
    started = time.perf_counter()
    changed = step()
    return changed, time.perf_counter() - started


def hand_written(engine: Engine, statement: str, cutoff: datetime) -> Callable[[], int]:
    """One set-based statement in one transaction: the baseline."""
    def run() -> int:
        with engine.begin() as conn:
            return conn.execute(text(statement), {"cutoff": cutoff}).rowcount

    return run


@dataclass
class Round:
    """One measured round: the same two steps by Charte (visits_a) and by hand (visits_b)."""

    deleted: int
    anonymised: int
    charte_seconds: float
    charte_phases: dict[str, float]
    delete_seconds: float
    update_seconds: float
    identical: bool

    @property
    def charte_rate(self) -> float:
        """Rows per second through ``run_retention``."""
        return (self.deleted + self.anonymised) / self.charte_seconds

    @property
    def hand_rate(self) -> float:
        """Rows per second through the two hand-written statements."""
        return (self.deleted + self.anonymised) / (self.delete_seconds + self.update_seconds)

    @property
    def ratio(self) -> float:
        """Charte's rate over the hand-written one."""
        return self.charte_rate / self.hand_rate


def run_charte(url: str, batch_size: int) -> tuple[dict[str, int], float, dict[str, float]]:
    """``run_retention`` on visits_a: its totals, seconds, and seconds per action."""
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        base = (ROOT / "examples" / "equasens" / "charte.yaml").read_text(encoding="utf-8")
        (home / "charte.yaml").write_text(base.replace("\nsystems: {}\n", "\n" + SYSTEM), encoding="utf-8")
        (home / "analytics.yaml").write_text(ANNOTATIONS, encoding="utf-8")
        manifest = load_manifest(home / "charte.yaml")
        systems = load_systems(manifest, home / "charte.yaml", environ={"ANALYTICS_URL": url})
        store = make_engine(f"sqlite:///{home / 'charte.db'}")
        migrate(store)
        phases: dict[str, float] = {}
        started = last = time.perf_counter()

        def lap(batch: BatchDone) -> None:
            nonlocal last
            now = time.perf_counter()
            phases[batch.rule.action] = phases.get(batch.rule.action, 0.0) + now - last
            last = now

        report = run_retention(manifest, systems, session_factory(store), clock=lambda: NOW, batch_size=batch_size,
                               actor="benchmark", on_batch=lap)
        seconds = time.perf_counter() - started
        store.dispose()
        dispose_engines()
    return report.totals, seconds, phases


def measure(admin: Engine, admin_url: str, rows: int, batch_size: int, *, hand_first: bool, keep: bool) -> Round:
    """Build both copies, run both sides (in the order asked), check they end identical."""
    name = f"charte_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        build(engine, rows)
        print(f"built 2 x {rows:,} visits in {time.perf_counter() - started:.1f} s (PostgreSQL, {name})", flush=True)
        # The cutoffs Charte computes, so the baseline changes exactly the same rows.
        cutoff_13 = Expiry("visited_at", Duration(months=13)).boundary(NOW).value
        cutoff_25 = Expiry("visited_at", Duration(months=25)).boundary(NOW).value

        def by_hand() -> tuple[int, float, int, float]:
            checkpoint(engine)
            # Deleting first, as Charte does: no row is anonymised only to be deleted.
            deleted, delete_seconds = timed(hand_written(
                engine, "DELETE FROM visits_b WHERE visited_at <= :cutoff", cutoff_25))
            updated, update_seconds = timed(hand_written(
                engine, "UPDATE visits_b SET user_agent = NULL WHERE visited_at <= :cutoff AND user_agent IS NOT NULL",
                cutoff_13))
            return deleted, delete_seconds, updated, update_seconds

        if hand_first:
            hand = by_hand()
        checkpoint(engine)
        totals, charte_seconds, phases = run_charte(url, batch_size)
        if not hand_first:
            hand = by_hand()
        assert (totals.get("deleted", 0), totals.get("anonymised", 0)) == (hand[0], hand[2]), \
            "both copies must change the same rows"
        with engine.connect() as conn:
            differ = conn.execute(text("SELECT count(*) FROM ((SELECT * FROM visits_a EXCEPT SELECT * FROM visits_b) "
                                       "UNION ALL (SELECT * FROM visits_b EXCEPT SELECT * FROM visits_a)) d")).scalar()
        return Round(hand[0], hand[2], charte_seconds, phases, hand[1], hand[3], differ == 0)
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="visits per copy (default 10 million)")
    parser.add_argument("--batch-size", type=int, default=Settings.model_fields["retention_batch_size"].default,
                        help="rows per Charte batch (default: CHARTE_RETENTION_BATCH_SIZE's default)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, on fresh copies, alternating which side "
                                                               "runs first; the median ratio is reported")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL server to create the databases on")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    args = parser.parse_args()

    admin = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    rounds: list[Round] = []
    try:
        for i in range(args.repeat):
            found = measure(admin, args.admin_url, args.rows, args.batch_size, hand_first=bool(i % 2),
                            keep=args.keep)
            rounds.append(found)
            first = "hand-written SQL first" if i % 2 else "Charte first"
            print(f"round {i + 1} ({first}): {found.deleted:,} deleted (25 months), {found.anonymised:,} anonymised "
                  f"(13 months)")
            phases = found.charte_phases
            print(f"  charte retention run : {found.charte_rate:12,.0f} rows/s ({found.charte_seconds:.1f} s: delete "
                  f"{phases.get('delete', 0):.1f} s, anonymise {phases.get('anonymise', 0):.1f} s; batches of "
                  f"{args.batch_size:,})")
            print(f"  hand-written SQL     : {found.hand_rate:12,.0f} rows/s "
                  f"({found.delete_seconds + found.update_seconds:.1f} s: DELETE {found.delete_seconds:.1f} s, "
                  f"UPDATE {found.update_seconds:.1f} s)")
            print(f"  ratio                : {found.ratio:12.2f} (target >= 0.8); copies identical: {found.identical}",
                  flush=True)
    finally:
        admin.dispose()
    ratios = sorted(r.ratio for r in rounds)
    print(f"median ratio over {len(rounds)} round(s): {statistics.median(ratios):.2f} "
          f"(min {ratios[0]:.2f}, max {ratios[-1]:.2f})")
    return 0 if all(r.identical for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
