"""Data-subject requests through two versions of Charte in one process: the working tree against a git revision.

Separate benchmark runs of two versions scatter by tens of microseconds on a machine whose disk and caches change
from one minute to the next, which hides most single changes. This script imports the revision's
``src/charte`` under another package name next to the working tree's, and runs hand-written SQL, the revision and
the working tree request by request, in turns, on one copy of the benchmark database (``benchmarks/dsr.py``'s
schema and annotations), each version with a store of its own. It prints each side's p50, its ratio to
hand-written SQL and the difference between the two versions (overall, and for the two kinds of subjects).

    python benchmarks/dsr_ab.py --rev HEAD~1                      # erasure, 1,000 requests per side
    python benchmarks/dsr_ab.py --rev main --kind access --subjects 200000
"""

from __future__ import annotations

import argparse
import functools
import importlib
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dsr  # the benchmark next to this script: its schema, data and hand-written SQL

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "charte_baseline"
# Import statements only: text such as "charte.yaml" or logger names must stay as they are.
_IMPORTS = re.compile(r"^(\s*)(from|import) charte(?=[.\s])", re.MULTILINE)


class RevisionNotFound(ValueError):
    """git does not know the revision, or it has no src/charte."""


def extract_baseline(rev: str, into: Path) -> None:
    """Write the revision's ``src/charte`` into ``into`` as the package :data:`BASELINE`."""
    try:
        archive = subprocess.run(["git", "archive", "--format=tar", rev, "src/charte"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
    except subprocess.CalledProcessError as exc:
        raise RevisionNotFound(f"git cannot archive src/charte at {rev!r}: {exc.stderr.decode().strip()}") from exc
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(into, filter="data")
        else:
            tar.extractall(into)  # git's own archive of this repository
    package = into / BASELINE
    (into / "src" / "charte").rename(package)
    for module in package.rglob("*.py"):
        text = _IMPORTS.sub(rf"\1\2 {BASELINE}", module.read_text(encoding="utf-8"))
        # Jinja templates are found by package name.
        module.write_text(text.replace('PackageLoader("charte.', f'PackageLoader("{BASELINE}.'), encoding="utf-8")


def version(package: str, manifest_path: Path, url: str, store_file: Path) -> Callable[[str, str], Any]:
    """A function running one request through ``package`` (``charte`` or the baseline) on the database at ``url``."""
    datastores = importlib.import_module(f"{package}.datastores")
    manifests = importlib.import_module(f"{package}.manifest")
    store_package = importlib.import_module(f"{package}.store")
    manifest = manifests.load_manifest(manifest_path)
    systems = datastores.load_systems(manifest, manifest_path, environ={"BENCH_URL": url})
    for leftover in (store_file, Path(f"{store_file}-wal"), Path(f"{store_file}-shm")):
        leftover.unlink(missing_ok=True)
    engine = store_package.make_engine(f"sqlite:///{store_file}")
    store_package.migrate(engine)
    store = store_package.session_factory(engine)
    counter = iter(range(10**9))

    def run(kind: str, email: str) -> Any:
        report = datastores.execute(kind, {"email": email}, manifest=manifest, systems=systems, store=store,
                                    request_id=f"ab-{kind}-{next(counter)}", actor="benchmark")
        if not report.ok:
            raise RuntimeError(report.to_dict())
        return report

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rev", required=True, help="git revision to compare the working tree with")
    parser.add_argument("--kind", choices=("access", "erasure"), default="erasure")
    parser.add_argument("--requests", type=int, default=1000, help="requests per side")
    parser.add_argument("--subjects", type=int, default=1_000_000, help="subjects in the database")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the database (default: temp)")
    parser.add_argument("--reuse", action="store_true", help="reuse the pristine data built by an earlier run")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.requests < 1 or args.subjects < 3 * args.requests + 200:
        parser.error("--subjects must be at least three times --requests plus 200 (every request has its subject)")
    extracted = Path(tempfile.mkdtemp(prefix="charte-baseline-"))
    # Without --workdir the database (about 1 GB at full scale) is built in a temporary folder, removed at the end.
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="charte-ab-"))
    try:
        try:
            extract_baseline(args.rev, extracted)
        except RevisionNotFound as exc:
            parser.error(str(exc))
        seconds = measure(args, extracted, folder)
    finally:
        shutil.rmtree(extracted, ignore_errors=True)
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)
    p50 = [1e6 * statistics.median(s for _, s in side) for side in seconds]

    def of(j: int, parity: int) -> float:
        return 1e6 * statistics.median(s for p, s in seconds[j] if p == parity)

    print(f"{args.kind}, {args.requests} requests per side, p50: hand-written {p50[0]:.0f} µs, "
          f"{args.rev} {p50[1]:.0f} µs ({p50[1] / p50[0]:.3f}), working tree {p50[2]:.0f} µs "
          f"({p50[2] / p50[0]:.3f})")
    print(f"working tree - {args.rev}: {p50[2] - p50[1]:+.0f} µs (subjects with invoices {of(2, 0) - of(1, 0):+.0f}, "
          f"without {of(2, 1) - of(1, 1):+.0f})")


def measure(args: argparse.Namespace, extracted: Path, folder: Path) -> list[list[tuple[int, float]]]:
    """Each side's (subject parity, seconds) per request: hand-written SQL, the revision, the working tree."""
    folder.mkdir(parents=True, exist_ok=True)
    pristine = folder / f"bench-{args.subjects}.pristine.db"
    if not (args.reuse and pristine.exists()):
        print(f"building {args.subjects * 11:,} rows...", flush=True)
        dsr.build_sqlite(pristine, args.subjects)
    target = folder / "ab.db"
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(pristine, target)
    url = f"sqlite:///{target}"
    sys.path.insert(0, str(extracted))
    manifest_path = dsr._manifest(folder)
    hand = dsr.HandWritten(lambda: sqlite3.connect(target), "?")
    sides: list[Callable[[str], Any]] = [hand.erase if args.kind == "erasure" else hand.access]
    for package, store_name in ((BASELINE, "ab-baseline.db"), ("charte", "ab-work.db")):
        run = version(package, manifest_path, url, folder / store_name)
        sides.append(functools.partial(run, args.kind))
    picked = random.Random(args.seed).sample(range(1, args.subjects + 1), 3 * args.requests + 100)
    for n, i in enumerate(picked[3 * args.requests:]):  # warm-up, on subjects no series uses
        sides[n % 3](dsr.email_of(i))
    seconds: list[list[tuple[int, float]]] = [[], [], []]
    for k in range(args.requests):
        # Distinct subjects per side (erasures destroy); the two versions swap places every request.
        for j in (0, 1, 2) if k % 2 else (0, 2, 1):
            subject = picked[3 * k + j]
            started = time.perf_counter()
            sides[j](dsr.email_of(subject))
            seconds[j].append((subject % 2, time.perf_counter() - started))
    return seconds


if __name__ == "__main__":
    main()
