"""The queue of outgoing mail: written in the same transaction as the change it reports, sent after commit.

Migration ``0005`` creates it; keep it in step with every change here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.dialects.mysql import MEDIUMTEXT
from sqlalchemy.orm import Mapped, mapped_column

from charte.store.models import Base


class QueuedMail(Base):
    """One message to send; its body is cleared once delivered (it may hold codes or personal data)."""

    __tablename__ = "mail_queue"
    __table_args__ = (Index("ix_mail_queue_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    purpose: Mapped[str] = mapped_column(String(60))
    reference: Mapped[str | None] = mapped_column(String(60), index=True)
    subject_ref: Mapped[str | None] = mapped_column(String(64))
    # MariaDB's TEXT stops at 64 KB; a letter listing many recipients may need more.
    raw: Mapped[str] = mapped_column(Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb"))
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
