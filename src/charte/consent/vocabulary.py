"""The words of consent: decisions, what they apply to, how they were collected, and time helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


class Decision(StrEnum):
    """What a person decided about one purpose or cookie category."""

    given = "given"
    refused = "refused"
    withdrawn = "withdrawn"
    objected = "objected"


class Scope(StrEnum):
    """What a decision applies to: a purpose of the manifest, or a cookie category of the banner."""

    purpose = "purpose"
    category = "category"


class CollectionMethod(StrEnum):
    """How a decision reached Charte."""

    banner = "banner"
    preferences = "preferences"
    api = "api"
    email_link = "email_link"
    gpc = "gpc"
    link = "link"  # copied from an anonymous visitor's choices when the visitor was identified


#: Cookie categories a Global Privacy Control signal refuses: it asks not to sell or share data for advertising.
GPC_REFUSED_CATEGORIES = ("advertising",)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite hands back naive ones, stored as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def instant_text(moment: datetime) -> str:
    """The canonical text of an instant in proofs and hashes: UTC, microseconds."""
    return as_utc(moment).isoformat(timespec="microseconds")
