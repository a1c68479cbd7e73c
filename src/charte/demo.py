"""The demo workspace of the reference customer: manifest, published policy, a dashboard login."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from charte.auth import create_user, set_password
from charte.config import Settings
from charte.manifest.publication import publish_policy
from charte.store import transaction
from charte.store.models import AdminUser
from charte.workspace import Workspace, init_workspace

DEMO_USER = "demo-dpo"


@dataclass(frozen=True)
class PreparedDemo:
    """What ``charte demo`` prints: where the workspace is and how to log in."""

    settings: Settings
    username: str
    password: str


def prepare_demo(folder: Path) -> PreparedDemo:
    """Create or refresh a demo workspace; each run gives the demo user a new random password."""
    settings = init_workspace(folder)
    workspace = Workspace(settings)
    password = secrets.token_urlsafe(12)
    with transaction(workspace.sessions) as session:
        publish_policy(session, workspace.manifest, actor="demo")
        exists = session.scalars(select(AdminUser).where(AdminUser.username == DEMO_USER)).first()
        if exists:
            set_password(session, DEMO_USER, password, actor="demo")
        else:
            create_user(session, DEMO_USER, password, "dpo", actor="demo")
    workspace.engine.dispose()
    return PreparedDemo(settings, DEMO_USER, password)
