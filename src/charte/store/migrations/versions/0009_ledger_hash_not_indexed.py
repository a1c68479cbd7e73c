"""Ledger: no unique index on ``ledger_events.hash``.

Nothing looks events up by hash, and the chain already makes hashes distinct: each one covers the event's seq and
the previous hash, and ``charte.ledger.verify`` checks them all. The index only cost every append an insert at a
random place in a large B-tree (about 0.03 ms of a 0.07 ms append on SQLite).

SQLite declared the constraint inline, so its table is rebuilt; the rebuild keeps every row, both indexes and the
append-only triggers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(unique_hash=False)
        return
    inspector = sa.inspect(op.get_bind())
    dropped: set[str] = set()
    for constraint in inspector.get_unique_constraints("ledger_events"):
        if constraint["column_names"] == ["hash"] and constraint["name"]:
            op.drop_constraint(constraint["name"], "ledger_events", type_="unique")
            dropped.add(constraint["name"])
    # A unique index made outside a constraint (by hand, or by another tool) would cost the same.
    for index in inspector.get_indexes("ledger_events"):
        if index["column_names"] == ["hash"] and index["unique"] and index["name"] and index["name"] not in dropped:
            op.drop_index(index["name"], table_name="ledger_events")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(unique_hash=True)
        return
    # Unnamed, as 0001 made it: each database names it as it did then (ledger_events_hash_key, hash).
    op.create_unique_constraint(None, "ledger_events", ["hash"])


def _rebuild_sqlite(*, unique_hash: bool) -> None:
    # SQLite's documented procedure for changing a table: make the new one, copy, drop the old one, rename. It runs
    # in the migration's single transaction (env.py), so a failure leaves the old table untouched. Nothing
    # references ledger_events by foreign key, so dropping it checks nothing even with foreign_keys=ON (a pragma
    # that cannot change inside a transaction anyway).
    _drop_append_only_triggers()
    op.create_table(
        "_ledger_events_new",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("recorded_at", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=80), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        *([sa.UniqueConstraint("hash")] if unique_hash else []),
    )
    op.execute("INSERT INTO _ledger_events_new (seq, recorded_at, type, actor, subject, payload, prev_hash, hash) "
               "SELECT seq, recorded_at, type, actor, subject, payload, prev_hash, hash FROM ledger_events "
               "ORDER BY seq")
    op.drop_table("ledger_events")  # takes its indexes with it
    op.rename_table("_ledger_events_new", "ledger_events")
    op.create_index("ix_ledger_events_subject", "ledger_events", ["subject"], unique=False)
    op.create_index("ix_ledger_events_type", "ledger_events", ["type"], unique=False)
    _forbid_ledger_changes_sqlite()


def _drop_append_only_triggers() -> None:
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS ledger_events_no_{action}")


def _forbid_ledger_changes_sqlite() -> None:
    # As 0001 made them (migrations cannot import each other): the ledger stays append-only in the database.
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER ledger_events_no_{action.lower()} BEFORE {action} ON ledger_events "
            "BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END"
        )
