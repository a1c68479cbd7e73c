"""Tables of data-subject requests: requests, identity checks, restrictions, intake limits, DPO reminders.

Migration ``0005`` creates them; keep it in step with every change here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import MEDIUMBLOB
from sqlalchemy.orm import Mapped, mapped_column

from charte.store.models import Base

#: Largest identity document accepted; MariaDB needs the length to choose MEDIUMBLOB over a 64 KB BLOB.
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024


class RightsRequest(Base):
    """One request of a data subject, from receipt to the answer."""

    __tablename__ = "rights_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    request_type: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(30), index=True)
    language: Mapped[str] = mapped_column(String(5))
    channel: Mapped[str] = mapped_column(String(20))
    # A digest of the normalised identity: who the request is about, without the address itself.
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    identifiers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    details: Mapped[str | None] = mapped_column(Text)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "<subject_ref>:<type>" while the request is open, NULL once closed: a unique key against duplicates
    # that holds across processes (several NULLs are allowed by SQLite, PostgreSQL and MariaDB).
    open_key: Mapped[str | None] = mapped_column(String(120), unique=True)

    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_on: Mapped[date] = mapped_column(Date)
    suspended_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspended_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_months: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    first_due_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date, index=True)

    verification_level: Mapped[str] = mapped_column(String(20))
    special_category: Mapped[bool] = mapped_column(Boolean, default=False)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verification_method: Mapped[str | None] = mapped_column(String(40))
    awaiting_document: Mapped[bool] = mapped_column(Boolean, default=False)
    doubt_reason: Mapped[str | None] = mapped_column(Text)

    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    auto_approved: Mapped[bool] = mapped_column(Boolean, default=False)

    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    execution_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    answer_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VerificationChallenge(Base):
    """A one-time code and signed-link nonce sent to the subject; only their hashes are kept."""

    __tablename__ = "rights_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_requests.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(255))
    link_nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdentityDocument(Base):
    """An identity document asked for on a recorded reasonable doubt; deleted once identity is decided."""

    __tablename__ = "rights_identity_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_requests.id"), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # MariaDB stores 8 MiB in a MEDIUMBLOB (what migration 0005's BLOB(8 MiB) creates there): said here too.
    content: Mapped[bytes] = mapped_column(
        LargeBinary(MAX_DOCUMENT_BYTES).with_variant(MEDIUMBLOB(), "mysql", "mariadb"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Restriction(Base):
    """Processing restricted for a subject (Art. 18): only storage is allowed until lifted after a notice."""

    __tablename__ = "rights_restrictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("rights_requests.id"), index=True)
    subject_ref: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    restricted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lift_announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lift_not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lift_reason: Mapped[str | None] = mapped_column(Text)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    lifted_by: Mapped[str | None] = mapped_column(String(200))


class RestrictionIdentity(Base):
    """One identity (email or an organisation identifier) a restriction applies to."""

    __tablename__ = "rights_restriction_identities"
    __table_args__ = (Index("ix_rights_restriction_identities_lookup", "value", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    restriction_id: Mapped[int] = mapped_column(ForeignKey("rights_restrictions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    value: Mapped[str] = mapped_column(String(320))


class IntakeAttempt(Base):
    """A request submission, kept for a while to limit submissions per address and per email."""

    __tablename__ = "rights_intake_attempts"
    __table_args__ = (Index("ix_rights_intake_attempts_lookup", "key", "attempted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeadlineReminder(Base):
    """A reminder sent to the DPO; unique per request, kind and due date so reminding twice sends nothing."""

    __tablename__ = "rights_reminders"
    __table_args__ = (UniqueConstraint("request_id", "kind", "due_on", name="uq_rights_reminders_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("rights_requests.id"))
    kind: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
