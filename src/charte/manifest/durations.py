"""ISO 8601 durations (P3Y, P6M, P13M, PT30M) and calendar arithmetic on them."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, TypeVar

from pydantic import BeforeValidator, PlainSerializer

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)

_D = TypeVar("_D", date, datetime)


class InvalidDuration(ValueError):
    """The text is not an ISO 8601 duration."""


@dataclass(frozen=True, order=True)
class Duration:
    """A calendar-aware duration: years and months move the date, the rest is exact time."""

    years: int = 0
    months: int = 0
    days: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``PnYnMnWnDTnHnMnS``; raise :class:`InvalidDuration` otherwise."""
        match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise InvalidDuration(
                f"{text!r} is not an ISO 8601 duration (examples: P3Y, P6M, P13M, P90D, PT30M)"
            )
        parts = {k: int(v) for k, v in match.groupdict().items() if v}
        return cls(
            years=parts.get("years", 0),
            months=parts.get("months", 0),
            days=parts.get("days", 0) + 7 * parts.get("weeks", 0),
            seconds=parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0),
        )

    def after(self, start: _D) -> _D:
        """The moment this duration after ``start``; a missing day becomes the month's last day."""
        total_months = start.month - 1 + self.months + 12 * self.years
        year, month = start.year + total_months // 12, total_months % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        moved = start.replace(year=year, month=month, day=day)
        return moved + timedelta(days=self.days, seconds=self.seconds)

    def before(self, end: _D) -> _D:
        """The moment this duration before ``end``."""
        negated = Duration(-self.years, -self.months, -self.days, -self.seconds)
        return negated.after(end)

    def approx_days(self) -> float:
        """Length in days, months counted as 30.44 days (for sorting and display only)."""
        return self.years * 365.25 + self.months * 30.44 + self.days + self.seconds / 86400

    def isoformat(self) -> str:
        """The canonical ISO 8601 text."""
        out = "P"
        out += f"{self.years}Y" if self.years else ""
        out += f"{self.months}M" if self.months else ""
        out += f"{self.days}D" if self.days else ""
        if self.seconds:
            h, rest = divmod(self.seconds, 3600)
            m, s = divmod(rest, 60)
            out += "T" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s else "")
        return out if out != "P" else "PT0S"

    def __str__(self) -> str:
        return self.isoformat()


def _coerce(value: object) -> Duration:
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        return Duration.parse(value)
    raise InvalidDuration(f"{value!r} is not an ISO 8601 duration text such as P3Y")


IsoDuration = Annotated[Duration, BeforeValidator(_coerce), PlainSerializer(Duration.isoformat, return_type=str)]
