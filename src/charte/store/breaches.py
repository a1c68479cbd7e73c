"""The breach register's tables (Art. 33(5)): append-only rows, so nothing documented can be rewritten.

A breach is one immutable row; what is known about it lives in numbered versions (a correction is a new version);
notifications to the authority, communications to the people concerned and clock warnings are rows of their own.
Migration ``0004`` creates these tables and the triggers that refuse ``UPDATE`` and ``DELETE`` on them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from charte.store.models import Base

#: Tables of the register; each is append-only in the database.
BREACH_TABLES = ("breaches", "breach_versions", "breach_notifications", "breach_communications",
                 "breach_warnings")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every backend (SQLite and MariaDB store no offset, so it is fixed here)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        # MariaDB's DATETIME drops fractions of a second unless asked to keep them.
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an instant is expected; attach a timezone")
        utc = value.astimezone(UTC)
        # Backends without offsets get the bare UTC wall time; PostgreSQL keeps the offset.
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class BreachRow(Base):
    """A breach as first recorded: its identity only; everything known about it is in its versions."""

    __tablename__ = "breaches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))


class BreachVersionRow(Base):
    """What was known about a breach from ``recorded_at`` on; the highest version is the current one."""

    __tablename__ = "breach_versions"
    __table_args__ = (UniqueConstraint("breach_id", "version", name="uq_breach_versions_breach_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))
    change_note: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(200))
    aware_at: Mapped[datetime] = mapped_column(UtcDateTime())
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    nature: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text)
    systems: Mapped[list[str]] = mapped_column(JSON)
    other_systems: Mapped[str] = mapped_column(Text)
    data_categories: Mapped[list[str]] = mapped_column(JSON)
    data_subjects: Mapped[list[str]] = mapped_column(JSON)
    collections: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    subjects_count: Mapped[int | None] = mapped_column(Integer)
    records_count: Mapped[int | None] = mapped_column(Integer)
    counts_method: Mapped[str] = mapped_column(String(20))
    consequences: Mapped[str] = mapped_column(Text)
    measures_taken: Mapped[str] = mapped_column(Text)
    measures_planned: Mapped[str] = mapped_column(Text)
    subject_advice: Mapped[str] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(String(10))
    risk_reasoning: Mapped[str] = mapped_column(Text)
    art34_exception: Mapped[str | None] = mapped_column(String(1))
    art34_reasoning: Mapped[str] = mapped_column(Text)
    text_language: Mapped[str] = mapped_column(String(5))
    translations: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))


class BreachNotificationRow(Base):
    """One submission to the supervisory authority: the initial notification or a complementary one."""

    __tablename__ = "breach_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), index=True)
    phase: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    authority_reference: Mapped[str | None] = mapped_column(String(120))
    late: Mapped[bool] = mapped_column()
    delay_reasons: Mapped[str | None] = mapped_column(Text)
    document_sha256: Mapped[str] = mapped_column(String(64))


class BreachCommunicationRow(Base):
    """A communication to the people concerned (Art. 34): by mail to each, or public under Art. 34(3)(c)."""

    __tablename__ = "breach_communications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    informed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    recipients_count: Mapped[int] = mapped_column(Integer)
    languages: Mapped[dict[str, int]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class BreachWarningRow(Base):
    """A clock warning sent once per breach and threshold; the unique key makes the job idempotent."""

    __tablename__ = "breach_warnings"
    __table_args__ = (UniqueConstraint("breach_id", "threshold_hours", name="uq_breach_warnings_threshold"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id"), index=True)
    threshold_hours: Mapped[int] = mapped_column(Integer)
    warned_at: Mapped[datetime] = mapped_column(UtcDateTime())
    seconds_left: Mapped[int] = mapped_column(Integer)
    superseded: Mapped[bool] = mapped_column()
