"""Art. 12(3) deadlines: month ends, weekends, French public holidays, extension, suspension, an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from charte.manifest import Manifest, load_manifest
from charte.rights import (
    ExtensionRefused,
    MissingReason,
    RightsPolicy,
    Submission,
    add_months,
    due_date,
    easter_sunday,
    french_public_holidays,
    is_working_day,
    parse_within,
    working_day_on_or_after,
)
from charte.rights.deadlines import InvalidPeriod, suspended_days_between
from charte.rights.intake import submit_request
from charte.rights.requests import current_due
from charte.rights.verification import email_verified
from charte.rights.workflow import extend
from charte.store import session_factory
from tests.conftest import EXAMPLE_MANIFEST

PARIS_NOON = 11  # 12:00 in Paris in winter is 11:00 UTC


@pytest.mark.parametrize(("year", "easter"), [
    (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)),
    (2038, date(2038, 4, 25)), (2285, date(2285, 3, 22)),
])
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_every_metropolitan_public_holiday_of_2026() -> None:
    assert set(french_public_holidays(2026)) == {
        date(2026, 1, 1), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 8), date(2026, 5, 14),
        date(2026, 5, 25), date(2026, 7, 14), date(2026, 8, 15), date(2026, 11, 1), date(2026, 11, 11),
        date(2026, 12, 25),
    }
    alsace = french_public_holidays(2026, alsace_moselle=True)
    assert date(2026, 4, 3) in alsace and date(2026, 12, 26) in alsace


@pytest.mark.parametrize(("received", "due"), [
    (date(2025, 1, 31), date(2025, 2, 28)),   # 28 February 2025 is a Friday
    (date(2024, 1, 31), date(2024, 2, 29)),   # leap year, Thursday
    (date(2026, 1, 31), date(2026, 3, 2)),    # 28 February 2026 is a Saturday -> Monday 2 March
    (date(2025, 3, 31), date(2025, 4, 30)),   # 31 April does not exist
    (date(2026, 1, 15), date(2026, 2, 16)),   # Sunday 15 February -> Monday
    (date(2026, 3, 6), date(2026, 4, 7)),     # Easter Monday 6 April 2026 -> Tuesday 7 April
    (date(2026, 4, 14), date(2026, 5, 15)),   # Ascension, Thursday 14 May 2026 -> Friday 15 May
    (date(2026, 4, 25), date(2026, 5, 26)),   # Whit Monday, 25 May 2026 -> Tuesday 26 May
    (date(2026, 4, 1), date(2026, 5, 4)),     # Friday 1 May (Labour Day), then the weekend -> Monday 4 May
    (date(2026, 4, 8), date(2026, 5, 11)),    # Friday 8 May (1945), then the weekend -> Monday 11 May
    (date(2026, 6, 14), date(2026, 7, 15)),   # Bastille Day, Tuesday 14 July -> 15 July
    (date(2026, 11, 25), date(2026, 12, 28)),  # Friday 25 December, then the weekend -> Monday 28
    (date(2026, 11, 30), date(2026, 12, 30)),  # an ordinary Wednesday
    (date(2025, 12, 1), date(2026, 1, 2)),    # 1 January, a Thursday -> Friday 2 January
])
def test_due_date_is_one_month_later_on_a_working_day(received: date, due: date) -> None:
    assert due_date(received) == due
    assert is_working_day(due) and due >= add_months(received, 1)


def test_working_days_and_the_next_one() -> None:
    assert not is_working_day(date(2026, 4, 6))  # Easter Monday
    assert working_day_on_or_after(date(2026, 4, 4)) == date(2026, 4, 7)  # Saturday -> past Easter Monday
    assert working_day_on_or_after(date(2026, 4, 8)) == date(2026, 4, 8)
    assert not is_working_day(date(2026, 12, 26), alsace_moselle=True)


@pytest.mark.parametrize(("received", "months", "due"), [
    (date(2026, 1, 31), 2, date(2026, 4, 30)),   # three months from receipt, not 28 Feb + 2 months
    (date(2026, 1, 31), 1, date(2026, 3, 31)),
    (date(2026, 2, 14), 2, date(2026, 5, 14) + timedelta(days=1)),  # Ascension 2026
    (date(2026, 10, 25), 2, date(2027, 1, 25)),
])
def test_extension_counts_from_receipt(received: date, months: int, due: date) -> None:
    assert due_date(received, extension_months=months) == due


def test_extension_longer_than_two_months_is_impossible() -> None:
    with pytest.raises(ValueError, match="0 to 2 months"):
        due_date(date(2026, 1, 1), extension_months=3)


def test_suspension_adds_the_days_waited_for_the_subject() -> None:
    assert due_date(date(2026, 11, 2), suspended_days=3) == date(2026, 12, 7)  # 5 Dec is a Saturday
    start = datetime(2026, 11, 2, 22, 30, tzinfo=UTC)                           # 23:30 in Paris, 2 November
    assert suspended_days_between(start, datetime(2026, 11, 2, 22, 59, tzinfo=UTC), "Europe/Paris") == 0
    assert suspended_days_between(start, datetime(2026, 11, 2, 23, 5, tzinfo=UTC), "Europe/Paris") == 1
    assert suspended_days_between(start, datetime(2026, 11, 5, 9, tzinfo=UTC), "Europe/Paris") == 3


def test_parse_within() -> None:
    assert parse_within("7d") == timedelta(days=7) == parse_within("7") == parse_within(" 1w ")
    assert parse_within("48h") == timedelta(hours=48)
    with pytest.raises(InvalidPeriod):
        parse_within("soon")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def manifest() -> Manifest:
    return load_manifest(EXAMPLE_MANIFEST)


@pytest.fixture
def session(store: Engine) -> Iterator[Session]:
    with session_factory(store)() as s, s.begin():
        yield s


def test_request_clock_is_suspended_while_waiting_for_the_subject(session: Session, manifest: Manifest) -> None:
    policy = RightsPolicy()
    clock = Clock(datetime(2026, 1, 31, PARIS_NOON, tzinfo=UTC))
    request = submit_request(session, manifest, Submission("objection", email="a@example.org"), address=None,
                             policy=policy, clock=clock).request
    assert request.state == "awaiting_verification"
    assert request.received_on == date(2026, 1, 31) and request.due_on == date(2026, 3, 2)
    clock.advance(days=4)
    # While the subject has not confirmed, the due date moves with each passing day.
    assert current_due(request, policy, clock()) == date(2026, 3, 4)
    email_verified(session, request, method="email_code", policy=policy, clock=clock)
    assert request.suspended_days == 4 and request.suspended_since is None
    assert request.first_due_on == request.due_on == date(2026, 3, 4)
    clock.advance(days=10)
    assert current_due(request, policy, clock()) == date(2026, 3, 4)  # the clock runs again: no more shift


def test_received_date_is_the_organisations_local_date(session: Session, manifest: Manifest) -> None:
    # 23:30 UTC on 31 December is already 1 January in Paris.
    clock = Clock(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    request = submit_request(session, manifest, Submission("objection", email="b@example.org"), address=None,
                             policy=RightsPolicy(), clock=clock).request
    assert request.received_on == date(2027, 1, 1) and request.due_on == date(2027, 2, 1)


def test_extension_before_the_first_due_date_only_with_reasons(session: Session, manifest: Manifest) -> None:
    policy = RightsPolicy()
    clock = Clock(datetime(2026, 1, 31, PARIS_NOON, tzinfo=UTC))
    request = submit_request(session, manifest, Submission("objection", email="c@example.org"), address=None,
                             policy=policy, clock=clock).request
    email_verified(session, request, method="email_code", policy=policy, clock=clock)
    with pytest.raises(ExtensionRefused, match="reasons"):
        extend(session, request, 2, "  ", actor="dpo", policy=policy, clock=clock)
    with pytest.raises(ExtensionRefused, match="at most 2 months"):
        extend(session, request, 3, "complex", actor="dpo", policy=policy, clock=clock)
    extend(session, request, 1, "many requests", actor="dpo", policy=policy, clock=clock)
    assert request.due_on == date(2026, 3, 31)
    extend(session, request, 2, "complex", actor="dpo", policy=policy, clock=clock)
    assert request.due_on == date(2026, 4, 30) and request.first_due_on == date(2026, 3, 2)
    with pytest.raises(ExtensionRefused):
        extend(session, request, 2, "again", actor="dpo", policy=policy, clock=clock)
    late = submit_request(session, manifest, Submission("objection", email="d@example.org"), address=None,
                          policy=policy, clock=clock).request
    email_verified(session, late, method="email_code", policy=policy, clock=clock)
    clock.advance(days=31)  # 3 March: past the first due date (2 March)
    with pytest.raises(ExtensionRefused, match="has passed"):
        extend(session, late, 2, "too late", actor="dpo", policy=policy, clock=clock)
    assert issubclass(MissingReason, ValueError)
