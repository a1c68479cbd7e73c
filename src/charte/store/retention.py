"""Charte's own tables for retention sweeps: one row per run and its progress per rule. Migration ``0006``
creates them.

A run keeps the instant its cutoffs were computed from (``as_of``), so that a run resumed after a crash expires
exactly the rows the interrupted one would have, and a lease, so that two workers never sweep at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charte.store.models import Base


class RetentionRunRecord(Base):
    """One retention sweep over the annotated systems."""

    __tablename__ = "retention_runs"
    # ``active`` is 1 while the run is unfinished and NULL after: the unique constraint allows one active run.
    __table_args__ = (UniqueConstraint("active", name="uq_retention_runs_active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20))
    active: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    systems: Mapped[list[str]] = mapped_column(JSON)
    owner: Mapped[str] = mapped_column(String(120))
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totals: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))


class RetentionProgressRecord(Base):
    """How far one rule of one collection got in a run: the last primary key done and the rows changed."""

    __tablename__ = "retention_progress"
    __table_args__ = (UniqueConstraint("run_id", "system", "collection", "rule",
                                       name="uq_retention_progress_rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("retention_runs.id"))
    system: Mapped[str] = mapped_column(String(120))
    collection: Mapped[str] = mapped_column(String(200))
    rule: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    # none_as_null: "no pending batch" is SQL NULL, not the JSON text null.
    last_key: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    counts: Mapped[dict[str, int]] = mapped_column(JSON)
    batches: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
