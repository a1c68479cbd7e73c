"""Consent: the cookie revision each current cookie-category decision was made under.

Consent to a cookie category given under an older cookie section no longer counts. Decisions already recorded get
the revision of the banner they cite: its notice, stored with the events, holds it (``content.rev``). Decisions
whose notice is not a Charte banner keep none, and count as before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_state") as batch:
        batch.add_column(sa.Column("revision", sa.String(length=64), nullable=True))
    _backfill()


def _banner_revision(text: str) -> str | None:
    try:
        found = json.loads(text)["content"]["rev"]
    except (ValueError, TypeError, KeyError):
        return None
    return found if isinstance(found, str) and len(found) <= 64 else None


def _backfill() -> None:
    bind = op.get_bind()
    notices = sa.table("consent_notices", sa.column("version", sa.String), sa.column("kind", sa.String),
                       sa.column("content", sa.Text))
    events = sa.table("consent_events", sa.column("id", sa.BigInteger), sa.column("notice_version", sa.String))
    states = sa.table("consent_state", sa.column("scope", sa.String), sa.column("event_id", sa.BigInteger),
                      sa.column("revision", sa.String))
    # A few banner versions at most: one UPDATE each (links copy the original event's notice version too).
    for version, content in bind.execute(sa.select(notices.c.version, notices.c.content)
                                         .where(notices.c.kind == "banner")).all():
        found = _banner_revision(content)
        if found is None:
            continue
        cited = sa.select(events.c.id).where(events.c.notice_version == version)
        bind.execute(sa.update(states).where(states.c.scope == "category", states.c.event_id.in_(cited))
                     .values(revision=found))


def downgrade() -> None:
    with op.batch_alter_table("consent_state") as batch:
        batch.drop_column("revision")
