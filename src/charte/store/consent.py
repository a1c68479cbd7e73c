"""Consent tables: subjects, the notices they were shown, immutable consent events and the current state.

Migrations must follow every change here (``0002``, then ``0008``: ``consent_state.revision``).
``consent_events`` and ``consent_notices`` are append-only in the database (triggers); ``consent_state`` is derived
from the events and rewritten on each one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from charte.store.models import Base

#: 64-bit keys that SQLite still treats as its rowid (so they autoincrement there too).
BigKey = BigInteger().with_variant(Integer, "sqlite")
#: Instants keep their microseconds on MariaDB too (its DATETIME drops them by default): decisions are ordered by time.
Instant = DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class ConsentSubject(Base):
    """Someone whose choices are recorded: an email, a customer id, or an anonymous visitor's consent id.

    ``ref`` is a random pseudonym used in events and in the ledger, so that erasing ``key`` later leaves no
    identifier in the append-only tables. A visitor ``linked_to`` an identified subject shares its choices.
    """

    __tablename__ = "consent_subjects"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    key: Mapped[str] = mapped_column(String(330), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    linked_to: Mapped[int | None] = mapped_column(ForeignKey("consent_subjects.id"))
    created_at: Mapped[datetime] = mapped_column(Instant)


class ConsentNotice(Base):
    """The exact content of a banner or form shown to people, under its SHA-256 (the version events cite)."""

    __tablename__ = "consent_notices"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    first_recorded_at: Mapped[datetime] = mapped_column(Instant)


class ConsentEvent(Base):
    """One decision, never changed: given, refused, withdrawn or objected, for a purpose or cookie category."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_subject", "subject_id", "id"),
        Index("ix_consent_events_period", "period", "scope", "key"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("consent_subjects.id"))
    via_subject_id: Mapped[int | None] = mapped_column(ForeignKey("consent_subjects.id"))
    scope: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(80))
    decision: Mapped[str] = mapped_column(String(12))
    method: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(Instant)
    decided_at: Mapped[datetime] = mapped_column(Instant)
    period: Mapped[str] = mapped_column(String(7))
    policy_version: Mapped[str] = mapped_column(String(10))
    notice_version: Mapped[str | None] = mapped_column(String(64))
    lang: Mapped[str | None] = mapped_column(String(8))
    ip_prefix: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    origin_event_id: Mapped[int | None] = mapped_column(ForeignKey("consent_events.id"))
    content_sha256: Mapped[str] = mapped_column(String(64))
    ledger_seq: Mapped[int] = mapped_column(BigKey)


class ConsentState(Base):
    """The newest decision per subject and purpose or category: what the permission check reads.

    ``revision`` is the cookie revision (hash of the manifest's cookie section) a category decision was made
    under; consent given under another revision than the current one no longer counts. None for purposes, and
    for category decisions recorded before it was kept whose banner did not say.
    """

    __tablename__ = "consent_state"
    __table_args__ = (Index("ix_consent_state_key", "scope", "key", "decision"),)

    subject_id: Mapped[int] = mapped_column(ForeignKey("consent_subjects.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    decision: Mapped[str] = mapped_column(String(12))
    decided_at: Mapped[datetime] = mapped_column(Instant)
    event_id: Mapped[int] = mapped_column(ForeignKey("consent_events.id"))
    revision: Mapped[str | None] = mapped_column(String(64))
