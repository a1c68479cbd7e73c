"""Generalisation of quasi-identifiers: dates to month or year, postcodes to département, ages to bands."""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime


class CannotGeneralise(ValueError):
    """The value has no generalised form (wrong type or format)."""


def date_of(value: object) -> date | None:
    """The calendar day of a date, datetime or ISO date text; None for anything else."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _as_date(value: object) -> date:
    day = date_of(value)
    if day is None:
        raise CannotGeneralise(f"{value!r} is not a date (a date, a datetime or ISO text such as 2024-05-31)")
    return day


def generalise_date(value: object, to: str = "month") -> str | None:
    """``2020-01-22`` → ``2020-01`` (month) or ``2020`` (year)."""
    if value is None:
        return None
    day = _as_date(value)
    if to == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if to == "year":
        return f"{day.year:04d}"
    raise CannotGeneralise(f"unknown date generalisation {to!r}: month or year")


_POSTCODE = re.compile(r"^\d{5}$")


def generalise_postcode(value: object) -> str | None:
    """A French postcode → its département (``54600`` → ``54``, ``97110`` → ``971``, ``20000`` → ``2A``)."""
    if value is None:
        return None
    code = str(value).strip().replace(" ", "")
    if not _POSTCODE.match(code):
        raise CannotGeneralise(f"{value!r} is not a French postcode")
    if code.startswith("20"):
        # Corsica: 200xx-201xx are Corse-du-Sud, 202xx-206xx Haute-Corse.
        return "2A" if int(code[:3]) < 202 else "2B"
    if code.startswith(("97", "98")):
        return code[:3]
    return code[:2]


def age_band(value: object, width: int = 10, *, today: date | None = None) -> str | None:
    """An age or a date of birth → a band such as ``30-39``."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        age = int(value)
    else:
        born, now = _as_date(value), today or date.today()
        age = now.year - born.year - ((now.month, now.day) < (born.month, born.day))
    if age < 0:
        raise CannotGeneralise(f"negative age from {value!r}")
    low = age // width * width
    return f"{low}-{low + width - 1}"


def truncate_ip(value: object, ipv4_bytes: int = 2, ipv6_bits: int = 80) -> str | None:
    """Zero the last bytes of an IPv4 address and the last bits of an IPv6 one (Matomo, CNIL exemption)."""
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(str(value).strip())
    except ValueError as exc:
        raise CannotGeneralise(f"{value!r} is not an IP address") from exc
    prefix = 32 - 8 * ipv4_bytes if isinstance(address, ipaddress.IPv4Address) else 128 - ipv6_bits
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)
