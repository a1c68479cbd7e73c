"""The 72-hour clock, with an injected clock: deadline, time left, 48 h and 24 h warnings (each once), late reasons."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from charte.breaches import (
    AlreadyNotified,
    InitialNotificationMissing,
    OutboxSender,
    ReasonsForDelayRequired,
    due_warnings,
    get_breach,
    is_late,
    notification_deadline,
    record_breach,
    record_notification,
    time_left,
    warn_dpo,
)
from charte.breaches.clock import crossed_thresholds
from charte.breaches.texts import format_time_left
from charte.ledger import verify
from charte.store import session_factory, transaction
from charte.store.breaches import BreachWarningRow
from charte.store.models import LedgerEvent

from .breach_support import AWARE, at, example_manifest, facts

MANIFEST = example_manifest()


def record(store: Engine, **changes: object) -> int:
    with transaction(session_factory(store)) as session:
        return record_breach(session, MANIFEST, facts(**changes), actor="test", clock=lambda: at(1)).id


def warn(store: Engine, hours: float) -> list[tuple[str, int]]:
    with transaction(session_factory(store)) as session:
        return [(w.reference, w.threshold_hours) for w in due_warnings(session, at(hours))]


def events(store: Engine, type_: str) -> list[dict[str, object]]:
    with session_factory(store)() as session:
        rows = session.scalars(select(LedgerEvent.payload).where(LedgerEvent.type == type_).order_by(LedgerEvent.seq))
        return [json.loads(p) for p in rows]


# --- the clock itself -------------------------------------------------------------------------------------------


def test_deadline_is_72_hours_after_awareness() -> None:
    assert notification_deadline(AWARE) == AWARE + timedelta(hours=72)
    assert time_left(AWARE, at(30)) == timedelta(hours=42)
    assert time_left(AWARE, at(80)) == -timedelta(hours=8)


def test_late_means_strictly_after_the_72nd_hour() -> None:
    assert not is_late(AWARE, at(72))
    assert is_late(AWARE, at(72) + timedelta(seconds=1))


@pytest.mark.parametrize(("hours", "expected"), [
    (0, ()), (23.99, ()), (24, (48,)), (47.5, (48,)), (48, (48, 24)), (71.9, (48, 24)), (72, (48, 24, 0)),
    (500, (48, 24, 0)),
])
def test_thresholds_reached(hours: float, expected: tuple[int, ...]) -> None:
    assert crossed_thresholds(AWARE, at(hours)) == expected


def test_time_left_in_words() -> None:
    assert format_time_left(timedelta(hours=47, minutes=5, seconds=59), "fr") == "47 h 05 min restantes"
    assert format_time_left(-timedelta(hours=3, minutes=10), "en") == "3 h 10 min late"


# --- warnings: each once -----------------------------------------------------------------------------------------


def test_warnings_at_48_and_24_hours_left_each_once(store: Engine) -> None:
    record(store)
    assert warn(store, 23) == []
    assert warn(store, 24) == [("BR-0001", 48)]
    assert warn(store, 25) == []  # idempotent: the 48 h warning is recorded once
    assert warn(store, 30) == []
    assert warn(store, 48) == [("BR-0001", 24)]
    assert warn(store, 48) == []
    assert warn(store, 72.5) == [("BR-0001", 0)]
    assert warn(store, 100) == []
    payloads = events(store, "breach.warning")
    assert [p["threshold_hours"] for p in payloads] == [48, 24, 0]
    assert payloads[0]["seconds_left"] == 48 * 3600
    with session_factory(store)() as session:
        assert verify(session).ok
        assert [w.threshold_hours for w in get_breach(session, 1).warnings] == [48, 24, 0]


def test_a_breach_recorded_late_gets_only_the_most_urgent_warning(store: Engine) -> None:
    record(store)
    assert warn(store, 60) == [("BR-0001", 24)]  # 48 h was never sent, and never will be
    assert warn(store, 61) == []
    payload = events(store, "breach.warning")[0]
    assert payload["superseded"] == [48]
    with session_factory(store)() as session:
        warnings = get_breach(session, 1).warnings
    assert [(w.threshold_hours, w.superseded) for w in warnings] == [(48, True), (24, False)]


def test_no_warning_once_notified_or_when_no_notification_is_required(store: Engine) -> None:
    notified = record(store)
    record(store, risk="none", risk_reasoning="Encrypted backup copy lost; key safe.")
    with transaction(session_factory(store)) as session:
        record_notification(session, MANIFEST, notified, phase="initial", submitted_at=at(10), actor="test",
                            clock=lambda: at(11))
    assert warn(store, 60) == []


def test_the_database_refuses_a_second_warning_for_the_same_threshold(store: Engine) -> None:
    record(store)
    warn(store, 30)
    factory = session_factory(store)
    with pytest.raises(IntegrityError), transaction(factory) as session:
        session.add(BreachWarningRow(breach_id=1, threshold_hours=48, warned_at=at(31), seconds_left=0,
                                     superseded=False))
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(BreachWarningRow)) == 1


def test_warn_dpo_mails_each_warning_to_the_dpo(store: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    record(store)
    sender = OutboxSender(tmp_path / "outbox", clock=lambda: at(30))
    with transaction(session_factory(store)) as session:
        sent = warn_dpo(session, MANIFEST, sender, at(30))
    with transaction(session_factory(store)) as session:
        assert warn_dpo(session, MANIFEST, sender, at(31)) == []
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(sent) == 1 and len(files) == 1
    message = files[0].read_text(encoding="utf-8")
    assert f"To: {MANIFEST.dpo.email}" in message
    assert "BR-0001" in message and "42 h 00 min restantes" in message


# --- notification phases and the late-reasons rule (Art. 33(1) and (4)) ----------------------------------------


def test_a_late_initial_notification_needs_reasons_for_the_delay(store: Engine) -> None:
    breach_id = record(store)
    factory = session_factory(store)
    with pytest.raises(ReasonsForDelayRequired, match="73 hours after awareness"), transaction(factory) as session:
        record_notification(session, MANIFEST, breach_id, phase="initial", submitted_at=at(73), actor="test",
                            clock=lambda: at(74))
    with pytest.raises(ReasonsForDelayRequired), transaction(factory) as session:
        record_notification(session, MANIFEST, breach_id, phase="initial", submitted_at=at(73), actor="test",
                            delay_reasons="   ", clock=lambda: at(74))
    assert events(store, "breach.notified") == []  # nothing recorded by the refused attempts
    with transaction(factory) as session:
        notification = record_notification(
            session, MANIFEST, breach_id, phase="initial", submitted_at=at(73), actor="test",
            delay_reasons="The forensic report arrived on Thursday evening.", clock=lambda: at(74))
    assert notification.late and notification.delay_reasons == "The forensic report arrived on Thursday evening."
    payload = events(store, "breach.notified")[0]
    assert payload["late"] is True and payload["delay_reasons_given"] is True
    with factory() as session:
        assert get_breach(session, breach_id).status(at(80)) == "notified_late"


def test_in_time_at_exactly_72_hours_needs_no_reasons(store: Engine) -> None:
    breach_id = record(store)
    with transaction(session_factory(store)) as session:
        notification = record_notification(session, MANIFEST, breach_id, phase="initial", submitted_at=at(72),
                                           actor="test", clock=lambda: at(72))
    assert not notification.late
    with session_factory(store)() as session:
        breach = get_breach(session, breach_id)
    assert breach.status(at(100)) == "notified" and not breach.clock_running


def test_phases_initial_then_complementary(store: Engine) -> None:
    breach_id = record(store)
    factory = session_factory(store)
    with pytest.raises(InitialNotificationMissing), transaction(factory) as session:
        record_notification(session, MANIFEST, breach_id, phase="complementary", submitted_at=at(5), actor="t",
                            clock=lambda: at(5))
    with transaction(factory) as session:
        record_notification(session, MANIFEST, breach_id, phase="initial", submitted_at=at(20), actor="t",
                            authority_reference="CNIL-2026-42", clock=lambda: at(20))
    with pytest.raises(AlreadyNotified), transaction(factory) as session:
        record_notification(session, MANIFEST, breach_id, phase="initial", submitted_at=at(21), actor="t",
                            clock=lambda: at(21))
    with transaction(factory) as session:
        # A complementary notification after 72 hours is not late: Art. 33(4) only asks for no undue further delay.
        second = record_notification(session, MANIFEST, breach_id, phase="complementary", submitted_at=at(100),
                                     actor="t", clock=lambda: at(100))
    assert not second.late
    with factory() as session:
        breach = get_breach(session, breach_id)
    assert [(n.phase, n.submitted_at) for n in breach.notifications] == [("initial", at(20)),
                                                                         ("complementary", at(100))]
    assert [e["phase"] for e in events(store, "breach.notified")] == ["initial", "complementary"]


def test_status_follows_the_clock(store: Engine) -> None:
    breach_id = record(store)
    with session_factory(store)() as session:
        breach = get_breach(session, breach_id)
    assert breach.status(at(71)) == "awaiting"
    assert breach.status(at(73)) == "late"
    assert breach.time_left(at(73)) == -timedelta(hours=1)
