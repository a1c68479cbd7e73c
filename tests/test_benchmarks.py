"""The benchmark scripts run end to end on a small database (their figures are for people: nothing is timed here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)


def test_dsr_prints_every_figure_for_sqlite(tmp_path: Path) -> None:
    done = _run("benchmarks/dsr.py", "--backends", "sqlite", "--subjects", "3000", "--requests", "60",
                "--workdir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    for label in ("access  hand-written", "access  Charte", "erasure hand-written", "erasure Charte"):
        assert re.search(rf"^{label}\s+[\d.]+\s+[\d.]+\s+\d+$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^erasure  Charte/hand-written p50 ratio [\d.]+ \(target <= 2\)", done.stdout, re.MULTILINE)
    assert re.search(r"peak RSS of the process executing the requests: \d+ MB", done.stdout)


def test_dsr_journaled_adds_a_hand_written_side_that_journals(tmp_path: Path) -> None:
    done = _run("benchmarks/dsr.py", "--backends", "sqlite", "--subjects", "600", "--requests", "60",
                "--workdir", str(tmp_path), "--journaled")
    assert done.returncode == 0, done.stderr
    for kind in ("access ", "erasure"):
        for side in ("hand-written", "hand+journal", "Charte"):
            line = rf"^{kind} {re.escape(side)}\s+[\d.]+\s+[\d.]+\s+\d+$"
            assert re.search(line, done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^erasure  Charte/hand-written with a journal p50 ratio [\d.]+$", done.stdout, re.MULTILINE)
    # Its journal holds one claim per erasure that found its subject, all done, and a hash-chained audit.
    import sqlite3

    journal = sqlite3.connect(tmp_path / "journal-sqlite.db")
    statuses = journal.execute("SELECT status, count(*) FROM claims GROUP BY status").fetchall()
    assert statuses == [("done", 60)]
    chain = journal.execute("SELECT prev_hash, hash FROM audit ORDER BY seq").fetchall()
    assert len(chain) >= 60 + 60 and all(prev == before for (prev, _), (_, before) in zip(chain[1:], chain))
    journal.close()


def test_dsr_refuses_too_few_subjects_for_its_requests() -> None:
    done = _run("benchmarks/dsr.py", "--backends", "sqlite", "--subjects", "500", "--requests", "60", "--journaled")
    assert done.returncode == 2
    assert "--subjects must be at least 6 times --requests plus 200" in done.stderr


def _git_revision() -> str | None:
    found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def test_dsr_ab_compares_a_revision_with_the_working_tree(tmp_path: Path) -> None:
    revision = _git_revision()
    if revision is None:
        pytest.skip("not a git checkout: there is no revision to compare with")
    done = _run("benchmarks/dsr_ab.py", "--rev", revision, "--subjects", "3000", "--requests", "60",
                "--workdir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert re.search(rf"^erasure, 60 requests per side, p50: hand-written \d+ µs, {revision} \d+ µs \([\d.]+\), "
                     r"working tree \d+ µs \([\d.]+\)$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(rf"^working tree - {revision}: [+-]\d+ µs", done.stdout, re.MULTILINE), done.stdout


def test_dsr_ab_refuses_an_unknown_revision() -> None:
    done = _run("benchmarks/dsr_ab.py", "--rev", "no-such-revision")
    assert done.returncode == 2
    assert "git cannot archive src/charte at 'no-such-revision'" in done.stderr
    assert "Traceback" not in done.stderr
