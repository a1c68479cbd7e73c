"""Ledger: the subject index leaves out events without a subject.

The index serves one query, a subject's timeline (``subject = ?``). Most events have no subject of their own: a
request executed on a system is recorded with its request id in the payload, many times a second, and each
entry in the index cost its append a page written. SQLite and PostgreSQL index only the events with a subject
(a partial index, which ``subject = ?`` still uses); MariaDB has no partial indexes and keeps the full one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_INDEX = "ix_ledger_events_subject"
_PARTIAL = ("sqlite", "postgresql")


def _exists() -> bool:
    return any(index["name"] == _INDEX for index in sa.inspect(op.get_bind()).get_indexes("ledger_events"))


def upgrade() -> None:
    if op.get_bind().dialect.name not in _PARTIAL:
        return
    if _exists():
        op.drop_index(_INDEX, table_name="ledger_events")
    where = sa.text("subject IS NOT NULL")
    op.create_index(_INDEX, "ledger_events", ["subject"], unique=False, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    if op.get_bind().dialect.name not in _PARTIAL:
        return
    if _exists():
        op.drop_index(_INDEX, table_name="ledger_events")
    op.create_index(_INDEX, "ledger_events", ["subject"], unique=False)
