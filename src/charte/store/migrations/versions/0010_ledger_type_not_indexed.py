"""Ledger: no index on ``ledger_events.type``.

Its only query, the dashboard's latest retention runs (``type LIKE 'retention.%'``, newest first), cannot use it:
LIKE is case-insensitive on SQLite and MariaDB's and PostgreSQL's B-trees serve it only under a C collation; it
walks the events backwards by ``seq`` instead. The index only cost every append a page written to it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_INDEX = "ix_ledger_events_type"


def upgrade() -> None:
    # Made by 0001 (and by 0009's SQLite rebuild); a store whose index was dropped by hand has nothing to drop.
    if any(index["name"] == _INDEX for index in sa.inspect(op.get_bind()).get_indexes("ledger_events")):
        op.drop_index(_INDEX, table_name="ledger_events")


def downgrade() -> None:
    op.create_index(_INDEX, "ledger_events", ["type"], unique=False)
