"""Art. 12(3) deadlines: one month from receipt, moved to a working day, extended, suspended.

The month is counted as in Regulation 1182/71 (Art. 3(2)(c)): the period ends on the same date of the following
month, or on the last day of that month when the date does not exist (31 January -> 28/29 February). A period that
would end on a Saturday, Sunday or public holiday ends on the next working day (Art. 3(4)). An extension "by two
further months" makes the whole period three months from receipt. Days spent waiting for the subject (identity
verification) are added back: the clock is suspended, not restarted.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

#: The longest extension Art. 12(3) allows, in months.
MAX_EXTENSION_MONTHS = 2

_WITHIN = re.compile(r"^\s*(\d+)\s*([dwh]?)\s*$", re.IGNORECASE)


class InvalidPeriod(ValueError):
    """The text is not a period such as ``7d``, ``2w`` or ``48h``."""


def easter_sunday(year: int) -> date:
    """Western (Gregorian) Easter Sunday of ``year`` (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


@cache
def french_public_holidays(year: int, *, alsace_moselle: bool = False) -> dict[date, str]:
    """The public holidays (jours fériés) of metropolitan France in ``year``, by date.

    Alsace and Moselle add Good Friday and St Stephen's Day (26 December).
    """
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "Jour de l'an",
        easter + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }
    if alsace_moselle:
        days[easter - timedelta(days=2)] = "Vendredi saint"
        days[date(year, 12, 26)] = "Saint-Étienne"
    return days


def is_working_day(day: date, *, alsace_moselle: bool = False) -> bool:
    """Monday to Friday and not a French public holiday."""
    return day.weekday() < 5 and day not in french_public_holidays(day.year, alsace_moselle=alsace_moselle)


def working_day_on_or_after(day: date, *, alsace_moselle: bool = False) -> date:
    """``day`` itself when it is a working day, else the next one."""
    while not is_working_day(day, alsace_moselle=alsace_moselle):
        day += timedelta(days=1)
    return day


def add_months(day: date, months: int) -> date:
    """The same date ``months`` later; the month's last day when that date does not exist."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(received_on: date, *, extension_months: int = 0, suspended_days: int = 0,
             alsace_moselle: bool = False) -> date:
    """When the answer is due: one month (plus any extension) after receipt, plus suspended days, on a working day."""
    if not 0 <= extension_months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"an extension is 0 to {MAX_EXTENSION_MONTHS} months, not {extension_months}")
    if suspended_days < 0:
        raise ValueError("suspended days cannot be negative")
    end = add_months(received_on, 1 + extension_months) + timedelta(days=suspended_days)
    return working_day_on_or_after(end, alsace_moselle=alsace_moselle)


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date of ``moment`` where the organisation is (receipt is a local-date event)."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def suspended_days_between(since: datetime, until: datetime, timezone: str) -> int:
    """Whole calendar days the clock stood still: a suspension begun and ended the same day costs none."""
    return max(0, (local_date(until, timezone) - local_date(since, timezone)).days)


def parse_within(text: str) -> timedelta:
    """A period typed on the command line: ``7d``, ``7`` (days), ``2w``, ``48h``."""
    match = _WITHIN.match(text)
    if not match:
        raise InvalidPeriod(f"{text!r} is not a period such as 7d, 2w or 48h")
    amount, unit = int(match.group(1)), match.group(2).lower() or "d"
    return {"d": timedelta(days=amount), "w": timedelta(weeks=amount), "h": timedelta(hours=amount)}[unit]


def days_left(due_on: date, today: date) -> int:
    """Calendar days until the due date; negative when late."""
    return (due_on - today).days
