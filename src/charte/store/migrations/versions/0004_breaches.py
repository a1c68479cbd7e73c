"""Breach register: breaches, their versions, notifications, communications and clock warnings (append-only).

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27 09:00:00
"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("breaches", "breach_versions", "breach_notifications", "breach_communications", "breach_warnings")


def _instant() -> sa.types.TypeEngine[datetime]:
    # Same as charte.store.breaches.UtcDateTime: microseconds kept on MariaDB too.
    return sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "breaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "breach_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("breach_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("change_note", sa.Text(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("aware_at", _instant(), nullable=False),
        sa.Column("occurred_at", _instant(), nullable=True),
        sa.Column("nature", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("systems", sa.JSON(), nullable=False),
        sa.Column("other_systems", sa.Text(), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("data_subjects", sa.JSON(), nullable=False),
        sa.Column("collections", sa.JSON(), nullable=False),
        sa.Column("subjects_count", sa.Integer(), nullable=True),
        sa.Column("records_count", sa.Integer(), nullable=True),
        sa.Column("counts_method", sa.String(length=20), nullable=False),
        sa.Column("consequences", sa.Text(), nullable=False),
        sa.Column("measures_taken", sa.Text(), nullable=False),
        sa.Column("measures_planned", sa.Text(), nullable=False),
        sa.Column("subject_advice", sa.Text(), nullable=False),
        sa.Column("risk", sa.String(length=10), nullable=False),
        sa.Column("risk_reasoning", sa.Text(), nullable=False),
        sa.Column("art34_exception", sa.String(length=1), nullable=True),
        sa.Column("art34_reasoning", sa.Text(), nullable=False),
        sa.Column("text_language", sa.String(length=5), nullable=False),
        sa.Column("translations", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["breach_id"], ["breaches.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("breach_id", "version", name="uq_breach_versions_breach_version"),
    )
    op.create_index("ix_breach_versions_breach_id", "breach_versions", ["breach_id"])
    op.create_table(
        "breach_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("breach_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("submitted_at", _instant(), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("authority_reference", sa.String(length=120), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("delay_reasons", sa.Text(), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["breach_id"], ["breaches.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_breach_notifications_breach_id", "breach_notifications", ["breach_id"])
    op.create_table(
        "breach_communications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("breach_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("informed_at", _instant(), nullable=False),
        sa.Column("recorded_at", _instant(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("recipients_count", sa.Integer(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["breach_id"], ["breaches.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_breach_communications_breach_id", "breach_communications", ["breach_id"])
    op.create_table(
        "breach_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("breach_id", sa.Integer(), nullable=False),
        sa.Column("threshold_hours", sa.Integer(), nullable=False),
        sa.Column("warned_at", _instant(), nullable=False),
        sa.Column("seconds_left", sa.Integer(), nullable=False),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["breach_id"], ["breaches.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("breach_id", "threshold_hours", name="uq_breach_warnings_threshold"),
    )
    op.create_index("ix_breach_warnings_breach_id", "breach_warnings", ["breach_id"])
    _forbid_changes()


def _forbid_changes() -> None:
    # Art. 33(5) documentation must survive bugs and careless scripts: the database itself refuses rewrites.
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION charte_breach_register_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the breach register is append-only'; END $$"
        )
    for table in TABLES:
        if dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'the breach register is append-only'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION charte_breach_register_append_only()"
            )
        elif dialect in ("mysql", "mariadb"):
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    "FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the breach register is append-only'"
                )


def _allow_changes() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS charte_breach_register_append_only()")


def downgrade() -> None:
    _allow_changes()
    for table in reversed(TABLES):
        if table != "breaches":
            op.drop_index(f"ix_{table}_breach_id", table_name=table)
        op.drop_table(table)
