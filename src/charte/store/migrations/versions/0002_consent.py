"""Consent: subjects, notices shown, immutable consent events (append-only) and the current state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:00:00
"""
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Tables whose rows are proofs: never updated, never deleted.
APPEND_ONLY = ("consent_events", "consent_notices")


def _big_key() -> sa.types.TypeEngine[int]:
    # Same as charte.store.consent.BigKey: 64-bit, and SQLite's rowid there.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _instant() -> sa.types.TypeEngine[Any]:
    # Same as charte.store.consent.Instant: microseconds kept on MariaDB too.
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "consent_subjects",
        sa.Column("id", _big_key(), autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=330), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("linked_to", _big_key(), nullable=True),
        sa.Column("created_at", _instant(), nullable=False),
        sa.ForeignKeyConstraint(["linked_to"], ["consent_subjects.id"], name="fk_consent_subjects_linked_to"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ref", name="uq_consent_subjects_ref"),
        sa.UniqueConstraint("key", name="uq_consent_subjects_key"),
    )
    op.create_table(
        "consent_notices",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("first_recorded_at", _instant(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "consent_events",
        sa.Column("id", _big_key(), autoincrement=True, nullable=False),
        sa.Column("subject_id", _big_key(), nullable=False),
        sa.Column("via_subject_id", _big_key(), nullable=True),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.Column("decided_at", _instant(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("policy_version", sa.String(length=10), nullable=False),
        sa.Column("notice_version", sa.String(length=64), nullable=True),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("origin_event_id", _big_key(), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("ledger_seq", _big_key(), nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], ["consent_subjects.id"], name="fk_consent_events_subject"),
        sa.ForeignKeyConstraint(["via_subject_id"], ["consent_subjects.id"], name="fk_consent_events_via"),
        sa.ForeignKeyConstraint(["origin_event_id"], ["consent_events.id"], name="fk_consent_events_origin"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_events_subject", "consent_events", ["subject_id", "id"])
    op.create_index("ix_consent_events_period", "consent_events", ["period", "scope", "key"])
    op.create_table(
        "consent_state",
        sa.Column("subject_id", _big_key(), nullable=False),
        sa.Column("scope", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=False),
        sa.Column("decided_at", _instant(), nullable=False),
        sa.Column("event_id", _big_key(), nullable=False),
        sa.ForeignKeyConstraint(["subject_id"], ["consent_subjects.id"], name="fk_consent_state_subject"),
        sa.ForeignKeyConstraint(["event_id"], ["consent_events.id"], name="fk_consent_state_event"),
        sa.PrimaryKeyConstraint("subject_id", "scope", "key"),
    )
    op.create_index("ix_consent_state_key", "consent_state", ["scope", "key", "decision"])
    for table in APPEND_ONLY:
        _forbid_changes(table)


def _forbid_changes(table: str) -> None:
    # Proofs of consent must survive bugs and careless scripts: the database itself refuses to rewrite them.
    dialect = op.get_bind().dialect.name
    message = f"{table} is append-only"
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    elif dialect in ("mysql", "mariadb"):
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{message}'"
            )


def _allow_changes(table: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def downgrade() -> None:
    for table in APPEND_ONLY:
        _allow_changes(table)
    op.drop_index("ix_consent_state_key", table_name="consent_state")
    op.drop_table("consent_state")
    op.drop_index("ix_consent_events_period", table_name="consent_events")
    op.drop_index("ix_consent_events_subject", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_table("consent_notices")
    op.drop_table("consent_subjects")
