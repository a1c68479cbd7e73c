"""Datastores: execution journal (resumable rights execution) and restriction register.

Revision ID: 0003
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datastore_executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=False),
        sa.Column("system", sa.String(length=120), nullable=False),
        sa.Column("request_type", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "system", name="uq_datastore_executions_request_system"),
    )
    op.create_table(
        "datastore_restrictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=120), nullable=False),
        sa.Column("collection", sa.String(length=200), nullable=False),
        sa.Column("row_key", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=120), nullable=False),
        sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("system", "collection", "row_key", name="uq_datastore_restrictions_row"),
    )
    op.create_index("ix_datastore_restrictions_request", "datastore_restrictions", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_datastore_restrictions_request", table_name="datastore_restrictions")
    op.drop_table("datastore_restrictions")
    op.drop_table("datastore_executions")
