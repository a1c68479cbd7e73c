"""Data-subject rights: requests, verification challenges, identity documents, restrictions, intake limits,
DPO reminders, and the outgoing mail queue.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-26 15:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import MEDIUMTEXT

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
# Same length as charte.store.rights.MAX_DOCUMENT_BYTES: MariaDB then picks MEDIUMBLOB.
_DOCUMENT = sa.LargeBinary(length=8 * 1024 * 1024)


def upgrade() -> None:
    op.create_table(
        "rights_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("request_type", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("open_key", sa.String(length=120), nullable=True),
        sa.Column("received_at", _TZ, nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("suspended_since", _TZ, nullable=True),
        sa.Column("suspended_days", sa.Integer(), nullable=False),
        sa.Column("extension_months", sa.Integer(), nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("first_due_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("verification_level", sa.String(length=20), nullable=False),
        sa.Column("special_category", sa.Boolean(), nullable=False),
        sa.Column("verified_at", _TZ, nullable=True),
        sa.Column("verification_method", sa.String(length=40), nullable=True),
        sa.Column("awaiting_document", sa.Boolean(), nullable=False),
        sa.Column("doubt_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", _TZ, nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("auto_approved", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", _TZ, nullable=True),
        sa.Column("execution_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("closed_at", _TZ, nullable=True),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("answer_expires_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
        sa.UniqueConstraint("open_key"),
    )
    with op.batch_alter_table("rights_requests") as batch:
        batch.create_index("ix_rights_requests_state", ["state"])
        batch.create_index("ix_rights_requests_subject_ref", ["subject_ref"])
        batch.create_index("ix_rights_requests_due_on", ["due_on"])
        batch.create_index("ix_rights_requests_lease_until", ["lease_until"])

    op.create_table(
        "rights_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("link_nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", _TZ, nullable=True),
        sa.Column("revoked_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_nonce_hash"),
    )
    with op.batch_alter_table("rights_verifications") as batch:
        batch.create_index("ix_rights_verifications_request_id", ["request_id"])

    op.create_table(
        "rights_identity_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", _DOCUMENT, nullable=False),
        sa.Column("uploaded_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )

    op.create_table(
        "rights_restrictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("restricted_at", _TZ, nullable=False),
        sa.Column("lift_announced_at", _TZ, nullable=True),
        sa.Column("lift_not_before", _TZ, nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.Column("lifted_at", _TZ, nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rights_restrictions") as batch:
        batch.create_index("ix_rights_restrictions_request_id", ["request_id"])
        batch.create_index("ix_rights_restrictions_subject_ref", ["subject_ref"])
        batch.create_index("ix_rights_restrictions_lifted_at", ["lifted_at"])

    op.create_table(
        "rights_restriction_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("restriction_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["restriction_id"], ["rights_restrictions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rights_restriction_identities") as batch:
        batch.create_index("ix_rights_restriction_identities_restriction_id", ["restriction_id"])
        batch.create_index("ix_rights_restriction_identities_lookup", ["value", "kind"])

    op.create_table(
        "rights_intake_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("attempted_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rights_intake_attempts") as batch:
        batch.create_index("ix_rights_intake_attempts_lookup", ["key", "attempted_at"])

    op.create_table(
        "rights_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("sent_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["rights_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "kind", "due_on", name="uq_rights_reminders_once"),
    )

    op.create_table(
        "mail_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=True),
        sa.Column("subject_ref", sa.String(length=64), nullable=True),
        sa.Column("raw", sa.Text().with_variant(MEDIUMTEXT(), "mysql", "mariadb"), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TZ, nullable=False),
        sa.Column("claimed_until", _TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("sent_at", _TZ, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("mail_queue") as batch:
        batch.create_index("ix_mail_queue_due", ["status", "next_attempt_at"])
        batch.create_index("ix_mail_queue_reference", ["reference"])


def downgrade() -> None:
    op.drop_table("mail_queue")
    op.drop_table("rights_reminders")
    op.drop_table("rights_intake_attempts")
    op.drop_table("rights_restriction_identities")
    op.drop_table("rights_restrictions")
    op.drop_table("rights_identity_documents")
    op.drop_table("rights_verifications")
    op.drop_table("rights_requests")
