"""Merge the domain branches (consent, datastores, breaches, rights, retention) into one history.

Revision ID: 0007
Revises: 0002, 0003, 0004, 0005, 0006
Create Date: 2026-11-26
"""

revision = "0007"
down_revision = ("0002", "0003", "0004", "0005", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the branches touch separate tables."""


def downgrade() -> None:
    """Nothing to change."""
