"""Charte's own tables. Migrations in ``store/migrations`` must follow every change here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of Charte's store."""


class LedgerEvent(Base):
    """One append-only, hash-chained event; see :mod:`charte.ledger`."""

    __tablename__ = "ledger_events"
    # Only events with a subject are indexed (migration 0011): the index serves a subject's timeline, and the
    # many events without one (requests executed on systems) would each cost their append a page written.
    # MariaDB has no partial indexes: there it covers every event.
    __table_args__ = (Index("ix_ledger_events_subject", "subject", sqlite_where=text("subject IS NOT NULL"),
                            postgresql_where=text("subject IS NOT NULL")),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    recorded_at: Mapped[str] = mapped_column(String(40))
    # Not indexed: no query can use it, and it cost every append (migration 0010).
    type: Mapped[str] = mapped_column(String(80))
    actor: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    # Not unique: the chain already makes hashes distinct, and the index cost every append (migration 0009).
    hash: Mapped[str] = mapped_column(String(64))


class LedgerHead(Base):
    """The single row that names the newest event; appends lock it to serialise the chain."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))


class AdminUser(Base):
    """A person who may use the DPO dashboard."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A machine client's token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """A failed login, kept to limit guessing per account and address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_lookup", "username", "attempted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PolicyPublication(Base):
    """A policy version as published: the manifest's digest at that moment."""

    __tablename__ = "policy_publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_date: Mapped[str] = mapped_column(String(10))
    manifest_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str] = mapped_column(String(200))
    ledger_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
