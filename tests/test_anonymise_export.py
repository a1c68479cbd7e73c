"""Anonymised exports: k-anonymity checked on hand-computed groups, never a partial file, stable pseudonyms."""

from __future__ import annotations

import csv
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, Date, DateTime, Integer, MetaData, String, Table, create_engine

from charte.anonymise import Keyring, NotAnonymous, pseudonym
from charte.anonymise.export import UnknownColumn, UnknownGeneralisation, export_anonymised, export_plan
from charte.datastores import ConnectedSystem, dispose_engines, load_systems
from charte.manifest import load_manifest

from .conftest import EXAMPLE_MANIFEST

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
metadata = MetaData()
members = Table("members", metadata,
                Column("id", Integer, primary_key=True, autoincrement=False),
                Column("email", String(200)),
                Column("full_name", String(200)),
                Column("birth_date", Date),
                Column("postcode", String(5)),
                Column("joined_at", DateTime),
                Column("visitor", String(60)),
                Column("plan", String(20)))

# id, postcode, birth date, joined: the groups below are worked out by hand for 15 June 2026.
MEMBERS = [
    (1, "54000", date(1980, 5, 1), datetime(2020, 3, 1)),    # 54, age 46 → 40-49, 2020
    (2, "54100", date(1984, 1, 10), datetime(2020, 11, 2)),  # 54, 42 → 40-49, 2020
    (3, "54600", date(1979, 7, 1), datetime(2020, 1, 3)),    # 54, 46 (birthday in July) → 40-49, 2020
    (4, "54000", date(1985, 6, 15), datetime(2020, 6, 4)),   # 54, 41 (birthday today) → 40-49, 2020
    (5, "54300", date(1986, 6, 16), datetime(2020, 8, 5)),   # 54, 39 (birthday tomorrow) → 30-39, 2020: alone
    (6, "75001", date(1990, 2, 2), datetime(2021, 2, 6)),    # 75, 36 → 30-39, 2021
    (7, "75011", date(1991, 3, 3), datetime(2021, 3, 7)),
    (8, "75015", date(1992, 4, 4), datetime(2021, 4, 8)),
    (9, "75020", date(1993, 5, 5), datetime(2021, 5, 9)),
    (10, "75002", date(1994, 6, 6), datetime(2021, 6, 10)),  # 75, 32 → 30-39, 2021
]

ANNOTATIONS = textwrap.dedent("""\
    dataset:
      key: club
      collections:
        members:
          fields:
            id: {primary_key: true}
            email: {category: user.contact.email, identity: email}
            full_name: user.name
            birth_date: {erasure: null}
            postcode: {category: user.contact.address, erasure: generalise_postcode}
            joined_at: {category: system.operations, erasure: {strategy: generalise_date, to: year}}
            visitor: {category: user.device.cookie_id, erasure: pseudonym}
            plan: system.operations
    """)


@pytest.fixture(params=["sqlite", "postgresql"])
def club(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConnectedSystem]:
    url = f"sqlite:///{tmp_path / 'club.db'}" if request.param == "sqlite" else \
        str(request.getfixturevalue("postgres_url"))
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(members.insert(), [
            {"id": i, "email": f"m{i}@example.com", "full_name": f"Member {i}", "birth_date": born,
             "postcode": code, "joined_at": joined, "visitor": f"cookie-{i % 3}", "plan": "gold" if i % 2 else "silver"}
            for i, code, born, joined in MEMBERS])
    engine.dispose()
    folder = tmp_path / "ws"
    folder.mkdir()
    system = "systems:\n  club:\n    name: Club\n    url: ${CLUB_URL}\n    datasets:\n      - file: club.yaml\n"
    (folder / "charte.yaml").write_text(EXAMPLE_MANIFEST.read_text(encoding="utf-8")
                                        .replace("\nsystems: {}\n", "\n" + system), encoding="utf-8")
    (folder / "club.yaml").write_text(ANNOTATIONS, encoding="utf-8")
    manifest = load_manifest(folder / "charte.yaml")
    yield load_systems(manifest, folder / "charte.yaml", environ={"CLUB_URL": url})["club"]
    dispose_engines()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_columns_follow_the_annotations(club: ConnectedSystem) -> None:
    plan = export_plan(club.catalog.collections["members"], quasi={"birth_date": "age_band"},
                       keyring=Keyring.generate())
    assert [c.describe() for c in plan.columns] == [
        "birth_date: age_band (quasi-identifier)", "postcode: generalise_postcode (quasi-identifier)",
        "joined_at: generalise_date:year (quasi-identifier)", "visitor: pseudonym", "plan: keep"]
    assert plan.removed == ("id", "email", "full_name")
    without_key = export_plan(club.catalog.collections["members"])
    assert "visitor" in without_key.removed and "birth_date" in without_key.removed
    with pytest.raises(UnknownColumn):
        export_plan(club.catalog.collections["members"], quasi={"age": None})
    with pytest.raises(UnknownGeneralisation):
        export_plan(club.catalog.collections["members"], quasi={"birth_date": "decade"})


def test_refuses_below_k_and_writes_nothing(club: ConnectedSystem, tmp_path: Path) -> None:
    output = tmp_path / "out" / "members.csv"
    output.parent.mkdir()
    output.write_text("an earlier export\n", encoding="utf-8")
    with pytest.raises(NotAnonymous) as refused:
        export_anonymised(club, "members", output, k=5, quasi={"birth_date": "age_band"}, clock=lambda: NOW)
    report = refused.value.report
    # Groups (age band, département, year): (40-49, 54, 2020) ×4, (30-39, 54, 2020) ×1, (30-39, 75, 2021) ×5.
    assert (report.rows, report.groups, report.smallest_group, report.groups_below_k) == (10, 3, 1, 2)
    assert dict(report.example) == {"birth_date": "30-39", "postcode": "54", "joined_at": "2020"}
    assert output.read_text(encoding="utf-8") == "an earlier export\n"
    assert sorted(p.name for p in output.parent.iterdir()) == ["members.csv"]


def test_passes_at_k_with_hand_computed_groups(club: ConnectedSystem, tmp_path: Path) -> None:
    output = tmp_path / "members.csv"
    keyring = Keyring.generate("k1")
    report = export_anonymised(club, "members", output, k=5, keyring=keyring, clock=lambda: NOW)
    # Without the birth date: (54, 2020) ×5 and (75, 2021) ×5.
    assert (report.kanonymity.groups, report.kanonymity.smallest_group) == (2, 5)
    rows = _read(output)
    assert list(rows[0]) == ["postcode", "joined_at", "visitor", "plan"]
    assert [(r["postcode"], r["joined_at"]) for r in rows] == [("54", "2020")] * 5 + [("75", "2021")] * 5
    assert [r["visitor"] for r in rows] == [pseudonym(f"cookie-{i % 3}", keyring) for i, *_ in MEMBERS]
    assert "@" not in output.read_text(encoding="utf-8") and "Member" not in output.read_text(encoding="utf-8")
    with pytest.raises(NotAnonymous) as refused:
        export_anonymised(club, "members", tmp_path / "k6.csv", k=6, keyring=keyring, clock=lambda: NOW)
    assert refused.value.report.smallest_group == 5 and not (tmp_path / "k6.csv").exists()


def test_wider_bands_reach_k(club: ConnectedSystem, tmp_path: Path) -> None:
    """20-year bands still leave the member born in 1986 (39: band 20-39) alone among those of Nancy (41-46: band
    40-59); 50-year bands put every age in 0-49, leaving two groups of five."""
    with pytest.raises(NotAnonymous) as refused:
        export_anonymised(club, "members", tmp_path / "a.csv", k=2, quasi={"birth_date": "age_band:20"},
                          clock=lambda: NOW)
    assert refused.value.report.smallest_group == 1
    report = export_anonymised(club, "members", tmp_path / "b.csv", k=4, quasi={"birth_date": "age_band:50"},
                               clock=lambda: NOW)
    assert (report.kanonymity.groups, report.kanonymity.smallest_group) == (2, 5)


def test_pseudonyms_stable_per_key_and_different_across_keys(club: ConnectedSystem, tmp_path: Path) -> None:
    first, second = Keyring.generate("k1"), Keyring.generate("k2")
    export_anonymised(club, "members", tmp_path / "a.csv", keyring=first, clock=lambda: NOW)
    export_anonymised(club, "members", tmp_path / "b.csv", keyring=first, clock=lambda: NOW)
    export_anonymised(club, "members", tmp_path / "c.csv", keyring=second, clock=lambda: NOW)
    a, b, c = ([r["visitor"] for r in _read(tmp_path / f"{n}.csv")] for n in "abc")
    assert a == b
    assert not set(a) & set(c)
    # Same visitor, same pseudonym within one export: joins on it still work.
    assert a[0] == a[3] and a[0] != a[1]


def test_text_that_would_start_a_formula_is_written_as_text(club: ConnectedSystem, tmp_path: Path) -> None:
    with club.engine.begin() as conn:
        conn.execute(members.update().where(members.c.id == 3).values(plan="=cmd|' /C calc'!A0"))
        conn.execute(members.update().where(members.c.id == 4).values(plan="-1"))
    output = tmp_path / "members.csv"
    export_anonymised(club, "members", output, k=5, keyring=Keyring.generate("k1"), clock=lambda: NOW)
    plans = [r["plan"] for r in _read(output)]
    assert plans.count("'=cmd|' /C calc'!A0") == 1 and plans.count("'-1") == 1
    assert sorted(p for p in plans if not p.startswith("'")) == ["gold"] * 4 + ["silver"] * 4
