"""The ledger: append, verify, and detection of any tampering with any stored field."""

from __future__ import annotations

import dataclasses
import enum
import io
import itertools
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from charte import ledger
from charte.ledger.chain import canonical_json, event_body, plain_json
from charte.store import session_factory, transaction
from charte.store.models import LedgerEvent

COLUMNS = ["seq", "recorded_at", "type", "actor", "subject", "payload", "prev_hash", "hash"]


def at(moment: datetime) -> Callable[[], datetime]:
    """A clock stopped at ``moment``."""
    return lambda: moment


def fill(engine: Engine, n: int) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    factory = session_factory(engine)
    for i in range(n):
        with transaction(factory) as session:
            ledger.append(session, "test.event", {"i": i, "note": f"événement {i}"}, actor="tester",
                          subject=f"subject-{i % 3}" if i % 2 else None,
                          clock=at(base + timedelta(seconds=i)))


def verify(engine: Engine) -> ledger.Verification:
    with session_factory(engine)() as session:
        return ledger.verify(session)


def drop_append_only_guard(engine: Engine) -> None:
    """Simulate an attacker with DDL rights: remove the triggers that forbid changes."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER ledger_events_append_only ON ledger_events"))
        else:
            conn.execute(text("DROP TRIGGER ledger_events_no_update"))
            conn.execute(text("DROP TRIGGER ledger_events_no_delete"))


def tampered(column: str, value: object) -> object:
    if column == "seq":
        return int(value) + 1000  # type: ignore[call-overload]
    if column == "subject":
        return "someone-else" if value is None else None
    if column == "payload":
        return json.dumps({**json.loads(str(value)), "i": -1})
    if column in ("prev_hash", "hash"):
        return ("f" if str(value)[0] != "f" else "e") + str(value)[1:]
    return str(value) + "x"


def test_append_and_verify(store: Engine) -> None:
    fill(store, 5)
    result = verify(store)
    assert result.ok, result.describe()
    assert result.count == 5
    with session_factory(store)() as session:
        events = list(ledger.events(session))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == ledger.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert result.head_hash == events[-1].hash


def test_empty_ledger_verifies(store: Engine) -> None:
    result = verify(store)
    assert result.ok and result.count == 0 and result.head_hash == ledger.GENESIS


def test_database_refuses_updates_and_deletes(store: Engine) -> None:
    fill(store, 2)
    for statement in ("UPDATE ledger_events SET actor = 'mallory'", "DELETE FROM ledger_events"):
        with pytest.raises(DBAPIError, match="append-only"), store.begin() as conn:
            conn.execute(text(statement))
    assert verify(store).ok


def test_rollback_leaves_no_event(store: Engine) -> None:
    factory = session_factory(store)
    with pytest.raises(RuntimeError), transaction(factory) as session:
        ledger.append(session, "test.event", {}, actor="tester")
        raise RuntimeError("the business change failed")
    fill(store, 1)
    result = verify(store)
    assert result.ok and result.count == 1


def test_every_column_of_every_row_is_protected(store: Engine) -> None:
    rows = 6
    fill(store, rows)
    drop_append_only_guard(store)
    with store.connect() as conn:
        original = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM ledger_events ORDER BY seq"))]
    for position, row in enumerate(original, start=1):
        for column in COLUMNS:
            new = tampered(column, row[column])
            with store.begin() as conn:
                conn.execute(text(f"UPDATE ledger_events SET {column} = :v WHERE seq = :s"),
                             {"v": new, "s": row["seq"]})
            result = verify(store)
            assert not result.ok, f"tampering {column} of row {position} went unnoticed"
            assert result.broken_position == position, (column, position, result.describe())
            with store.begin() as conn:
                key = new if column == "seq" else row["seq"]
                conn.execute(text(f"UPDATE ledger_events SET {column} = :v WHERE seq = :s"),
                             {"v": row[column], "s": key})
            assert verify(store).ok


def test_removed_events_are_detected(store: Engine) -> None:
    fill(store, 4)
    drop_append_only_guard(store)
    with store.begin() as conn:
        conn.execute(text("DELETE FROM ledger_events WHERE seq = 2"))
    assert verify(store).broken_position == 2
    with store.begin() as conn:
        conn.execute(text("DELETE FROM ledger_events WHERE seq > 2"))
    result = verify(store)
    assert not result.ok and result.broken_position == 2  # truncated tail: the stored head disagrees


def test_expected_head_is_checked(store: Engine) -> None:
    fill(store, 3)
    with session_factory(store)() as session:
        head = ledger.verify(session).head_hash
        assert ledger.verify(session, expected_head=head).ok
        assert not ledger.verify(session, expected_head="0" * 63 + "1").ok


def test_export_writes_events_and_head(store: Engine) -> None:
    fill(store, 3)
    buffer = io.StringIO()
    with session_factory(store)() as session:
        head = ledger.export_jsonl(session, buffer)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert [e["seq"] for e in lines[:-1]] == [1, 2, 3]
    assert lines[-1]["head"]["hash"] == head == lines[2]["hash"]
    assert lines[-1]["head"]["verified"] is True
    assert lines[0]["payload"]["note"] == "événement 0"


def test_concurrent_appends_keep_one_chain(store: Engine) -> None:
    import threading

    factory = session_factory(store)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                with transaction(factory) as session:
                    ledger.append(session, "test.concurrent", {"worker": n, "i": i}, actor=f"w{n}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    result = verify(store)
    assert result.ok and result.count == 40
    with session_factory(store)() as session:
        assert session.query(LedgerEvent).count() == 40


@given(seq=st.integers(min_value=1, max_value=2**62), recorded_at=st.text(), type_=st.text(), actor=st.text(),
       subject=st.none() | st.text(), payload=st.text(), prev_hash=st.text())
def test_the_event_body_is_the_canonical_json_of_the_event(seq: int, recorded_at: str, type_: str, actor: str,
                                                           subject: str | None, payload: str,
                                                           prev_hash: str) -> None:
    event = {"seq": seq, "recorded_at": recorded_at, "type": type_, "actor": actor, "subject": subject,
             "payload": payload, "prev_hash": prev_hash}
    assert event_body(seq=seq, recorded_at=recorded_at, type=type_, actor=actor, subject=subject, payload=payload,
                      prev_hash=prev_hash) == canonical_json(event)


@pytest.mark.parametrize("odd", [{"actor": 7}, {"payload": {"b": 1, "a": [1.5, None]}}, {"subject": 3},
                                 {"recorded_at": None}, {"seq": "12"}, {"type": True}])
def test_the_event_body_of_values_that_are_not_text_is_their_canonical_json(odd: dict[str, Any]) -> None:
    event: dict[str, Any] = {"seq": 1, "recorded_at": "2026-11-26T16:00:00.000000+00:00", "type": "t",
                                "actor": "a", "subject": None, "payload": "{}", "prev_hash": ledger.GENESIS, **odd}
    assert event_body(**event) == canonical_json({**event, "seq": int(event["seq"])})


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=20)


@given(value=JSON_VALUES)
def test_canonical_json_is_json_dumps_with_sorted_keys_and_no_spaces(value: Any) -> None:
    assert canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                               default=str)


_PLAIN_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(_PLAIN_VALUES)
def test_plain_json_is_the_canonical_text(value: object) -> None:
    # An exported event's payload is checked by re-encoding it canonically: the text must be the same, byte for byte.
    assert plain_json(value) == canonical_json(value)


def test_plain_json_hands_other_values_to_the_canonical_encoder() -> None:
    class Kind(enum.StrEnum):
        ERASURE = "erasure"

    @dataclasses.dataclass
    class Point:
        x: int

    odd = {"at": datetime(2026, 12, 6, 8, 0, tzinfo=UTC), "day": date(2026, 12, 6), "kind": Kind.ERASURE,
           "amount": Decimal("1.50"), "point": Point(1), "big": 2**80, "é\x1f": ["\u2028"]}
    assert plain_json(odd) == canonical_json(odd)
    assert plain_json({2: "b", 1: "a"}) == canonical_json({2: "b", 1: "a"}) == '{"1":"a","2":"b"}'
    assert plain_json({"b": 1, "a": [True, None]}) == '{"a":[true,null],"b":1}'
