"""Charte's own tables for executing rights on the organisation's systems: the execution journal and the
restriction register. Migration ``0003`` creates them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charte.store.models import Base


class DatastoreExecution(Base):
    """One request executed on one system: what was planned, and whether it is done.

    The plan (row keys and new values) is kept only while the execution is in flight, so that a killed process
    can finish exactly the same work; it is cleared once the system's transaction has committed.
    """

    __tablename__ = "datastore_executions"
    __table_args__ = (UniqueConstraint("request_id", "system", name="uq_datastore_executions_request_system"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(120))
    system: Mapped[str] = mapped_column(String(120))
    request_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DatastoreRestriction(Base):
    """A row of a connected system whose processing is restricted (Art. 18), for tables without a flag column."""

    __tablename__ = "datastore_restrictions"
    __table_args__ = (
        UniqueConstraint("system", "collection", "row_key", name="uq_datastore_restrictions_row"),
        Index("ix_datastore_restrictions_request", "request_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system: Mapped[str] = mapped_column(String(120))
    collection: Mapped[str] = mapped_column(String(200))
    row_key: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(120))
    restricted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
