"""The breach register on SQLite, PostgreSQL (and MariaDB): versions, ledger events, append-only tables, checks."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from charte.breaches import (
    AffectedCollection,
    InvalidBreach,
    NothingChanged,
    UnknownBreach,
    due_warnings,
    get_breach,
    list_breaches,
    needing_attention,
    parse_reference,
    record_breach,
    record_communication,
    record_notification,
    seed_demo_breach,
    update_breach,
)
from charte.breaches.register import changed_fields
from charte.ledger import verify
from charte.store import make_engine, migrate, session_factory, transaction
from charte.store.breaches import BREACH_TABLES
from charte.store.models import LedgerEvent

from .breach_support import AWARE, at, example_manifest, facts

MANIFEST = example_manifest()


def ledger_events(store: Engine) -> list[tuple[str, dict[str, object]]]:
    with session_factory(store)() as session:
        return [(e.type, json.loads(e.payload)) for e in session.scalars(select(LedgerEvent).order_by(LedgerEvent.seq))]


def test_record_keeps_every_fact_and_appends_breach_recorded(store: Engine) -> None:
    with transaction(session_factory(store)) as session:
        breach = record_breach(session, MANIFEST, facts(), actor="admin:alice", clock=lambda: at(2))
    with session_factory(store)() as session:
        again = get_breach(session, breach.id)
    assert again.reference == "BR-0001" and again.facts == facts()
    assert again.recorded_at == at(2) and again.recorded_by == "admin:alice"
    assert again.facts.aware_at == AWARE and again.facts.aware_at.utcoffset() == timedelta(0)
    assert again.deadline == at(72)
    [(type_, payload)] = ledger_events(store)
    assert type_ == "breach.recorded"
    assert payload["breach"] == "BR-0001" and payload["version"] == 1
    assert payload["content_sha256"] == facts().digest()
    assert payload["special_categories"] == ["user.health_and_medical"]
    assert payload["subject_communication_required"] is True
    # Free texts may name people: the ledger proves them by digest only.
    assert facts().description not in json.dumps(payload)


def test_a_correction_is_a_new_version_and_the_old_one_stays(store: Engine) -> None:
    factory = session_factory(store)
    with transaction(factory) as session:
        record_breach(session, MANIFEST, facts(), actor="t", clock=lambda: at(1))
    corrected = replace(facts(), subjects_count=2000, risk="risk", risk_reasoning="No health data after all.",
                        data_categories=("user.name", "user.contact.email"))
    with transaction(factory) as session:
        breach = update_breach(session, MANIFEST, 1, corrected, actor="t", change_note="forensics done",
                               clock=lambda: at(3))
    assert [v.version for v in breach.versions] == [1, 2]
    assert breach.versions[0].facts == facts() and breach.facts == corrected
    assert breach.current.change_note == "forensics done"
    type_, payload = ledger_events(store)[-1]
    assert type_ == "breach.updated" and payload["version"] == 2
    assert payload["changed"] == ["risk", "risk_reasoning", "data_categories", "subjects_count"]
    with pytest.raises(NothingChanged), transaction(factory) as session:
        update_breach(session, MANIFEST, 1, corrected, actor="t", clock=lambda: at(4))


def test_the_ledger_event_is_in_the_same_transaction(store: Engine) -> None:
    factory = session_factory(store)
    with pytest.raises(RuntimeError), transaction(factory) as session:
        record_breach(session, MANIFEST, facts(), actor="t", clock=lambda: at(1))
        raise RuntimeError("crash before commit")
    with factory() as session:
        assert list_breaches(session) == []
        assert verify(session).count == 0


@pytest.mark.parametrize("table", BREACH_TABLES)
def test_the_database_refuses_to_rewrite_or_delete_the_register(store: Engine, table: str) -> None:
    factory = session_factory(store)
    with transaction(factory) as session:
        record_breach(session, MANIFEST, facts(), actor="t", clock=lambda: at(1))
        due_warnings(session, at(30))
        record_notification(session, MANIFEST, 1, phase="initial", submitted_at=at(30), actor="t",
                            clock=lambda: at(30))
        record_communication(session, 1, channel="letter", informed_at=at(31), recipients_count=3, languages={},
                             actor="t", clock=lambda: at(31))
    column = "recorded_by" if table not in ("breach_warnings",) else "threshold_hours"
    value = "'someone else'" if column == "recorded_by" else "7"
    for statement in (f"UPDATE {table} SET {column} = {value}", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), store.begin() as connection:
            connection.execute(text(statement))
    with store.connect() as connection:
        assert connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() >= 1


@pytest.mark.parametrize(("changes", "message"), [
    ({"title": " "}, "title"),
    ({"aware_at": at(10)}, "future"),
    ({"aware_at": AWARE.replace(tzinfo=None)}, "timezone"),
    ({"occurred_at": at(1)}, "occurred after"),
    ({"nature": ()}, "confidentiality, integrity or availability"),
    ({"risk_reasoning": ""}, "reasoning"),
    ({"risk": "risk", "art34_exception": "a", "art34_reasoning": "encrypted"}, "only applies to a high risk"),
    ({"art34_exception": "b"}, "justification"),
    ({"subjects_count": -1}, "negative"),
    ({"data_categories": ("user.nmae",)}, "unknown data category: user.nmae"),
    ({"data_subjects": ("martians",)}, "category of data subjects: martians"),
    ({"systems": ("erp",)}, "unknown system: erp"),
    ({"collections": (AffectedCollection("erp", "customers"),)}, "unknown system: erp"),
    ({"translations": {"de": {"title": "x"}}}, "undeclared languages"),
    ({"translations": {"en": {"risk_reasoning": "x"}}}, "only these texts"),
])
def test_what_cannot_be_recorded(store: Engine, changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidBreach, match=message), transaction(session_factory(store)) as session:
        record_breach(session, MANIFEST, facts(**changes), actor="t", clock=lambda: at(1))


def test_unknown_breach_and_references(store: Engine) -> None:
    with session_factory(store)() as session, pytest.raises(UnknownBreach, match="BR-0042"):
        get_breach(session, 42)
    assert parse_reference("BR-0007") == parse_reference("br-7") == parse_reference("7") == 7
    with pytest.raises(UnknownBreach):
        parse_reference("BR-x")


def test_list_newest_first_and_what_needs_attention(store: Engine) -> None:
    factory = session_factory(store)
    with transaction(factory) as session:
        record_breach(session, MANIFEST, facts(title="documented only", risk="none", risk_reasoning="encrypted"),
                      actor="t", clock=lambda: at(1))
        earlier = facts(title="earlier", aware_at=AWARE - timedelta(hours=10), occurred_at=None)
        record_breach(session, MANIFEST, earlier, actor="t", clock=lambda: at(1))
        record_breach(session, MANIFEST, facts(title="later"), actor="t", clock=lambda: at(1))
        notified = record_breach(session, MANIFEST, facts(title="notified, people not told"), actor="t",
                                 clock=lambda: at(1))
        record_notification(session, MANIFEST, notified.id, phase="initial", submitted_at=at(2), actor="t",
                            clock=lambda: at(2))
    with factory() as session:
        breaches = list_breaches(session)
    assert [b.facts.title for b in breaches] == ["notified, people not told", "later", "earlier", "documented only"]
    # Running clocks first, the most urgent first; then the breaches whose people are still to be told.
    assert [b.facts.title for b in needing_attention(breaches, at(5))] == [
        "earlier", "later", "notified, people not told"]


def test_demo_breaches_are_seeded_once(store: Engine) -> None:
    factory = session_factory(store)
    with transaction(factory) as session:
        seeded = seed_demo_breach(session, MANIFEST, clock=lambda: at(100))
    with transaction(factory) as session:
        again = seed_demo_breach(session, MANIFEST, clock=lambda: at(101))
    assert len(seeded) == len(again) == 2
    running = [b for b in again if b.clock_running]
    assert len(running) == 1 and running[0].time_left(at(100)) == timedelta(hours=42)
    notified = [b for b in again if b.initial_notification]
    assert notified[0].facts.art34_exception == "a" and not notified[0].communication_pending


def test_register_on_mariadb(mariadb_url: str) -> None:
    engine = make_engine(mariadb_url)
    try:
        migrate(engine)
        factory = session_factory(engine)
        precise = replace(facts(), aware_at=AWARE + timedelta(microseconds=123456))
        with transaction(factory) as session:
            record_breach(session, MANIFEST, precise, actor="t", clock=lambda: at(1))
        with factory() as session:
            assert get_breach(session, 1).facts.aware_at == precise.aware_at  # microseconds kept
            assert verify(session).ok
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("DELETE FROM breach_versions"))
    finally:
        engine.dispose()


def test_changed_fields_names_the_differences() -> None:
    assert changed_fields(facts(), facts()) == []
    assert changed_fields(facts(), facts(title="other", records_count=1)) == ["title", "records_count"]
