"""The demo workspace of the reference customer: manifest, published policy, a dashboard login, and a customer
database (CRM, billing, support, web analytics, recruitment) annotated so every right works end to end."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml
from dotenv import dotenv_values
from sqlalchemy import select

from charte.anonymise import KEYS_VARIABLE, Keyring
from charte.auth import create_user, set_password
from charte.config import Settings
from charte.demo_crm import DEMO_SUBJECT, annotations_text, build_crm
from charte.manifest import ManifestError, check_file
from charte.manifest.publication import publish_policy
from charte.store import transaction
from charte.store.models import AdminUser
from charte.workspace import Workspace, WorkspaceError, init_workspace

DEMO_USER = "demo-dpo"
#: The variable the demo manifest names for its customer database (resolved from the workspace's .env).
CRM_URL_VARIABLE = "CHARTE_DEMO_CRM_URL"
CRM_SYSTEM = "crm"
CRM_DATASETS = "datasets/crm.yaml"

_SYSTEM_BLOCK = f"""  {CRM_SYSTEM}:
    name: CRM, facturation et assistance (démo)
    url: ${{{CRM_URL_VARIABLE}}}
    purposes: [identification, service_delivery, service_information, sales_billing, technical_support,
               customer_analysis, satisfaction_surveys, website_operation, newsletter, campaign_offers,
               contact_requests, recruitment, audience_measurement, accounting, legal_formalities]
    datasets:
      - file: {CRM_DATASETS}
"""


@dataclass(frozen=True)
class PreparedDemo:
    """What ``charte demo`` prints: where the workspace is, how to log in, and a subject to try rights on."""

    settings: Settings
    username: str
    password: str
    subject: str = DEMO_SUBJECT


def _append_env(env_file: Path, values: dict[str, str]) -> None:
    present = dotenv_values(env_file) if env_file.exists() else {}
    missing = {k: v for k, v in values.items() if not present.get(k)}
    if missing:
        with env_file.open("a", encoding="utf-8") as handle:
            handle.write("# Demo customer database and pseudonymisation keys (charte demo).\n")
            handle.writelines(f"{k}={v}\n" for k, v in missing.items())
        env_file.chmod(0o600)


def _add_system(manifest: Path) -> None:
    """Declare the demo database in the workspace's manifest (a copy of the example), keeping its comments."""
    text = manifest.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if CRM_SYSTEM in (data.get("systems") or {}):
        return
    if re.search(r"^systems:\s*\{\}\s*$", text, flags=re.MULTILINE):
        text = re.sub(r"^systems:\s*\{\}\s*$", "systems:\n" + _SYSTEM_BLOCK.rstrip("\n"), text, count=1,
                      flags=re.MULTILINE)
    elif re.search(r"^systems:\s*$", text, flags=re.MULTILINE):
        text = re.sub(r"^systems:\s*$", "systems:\n" + _SYSTEM_BLOCK.rstrip("\n"), text, count=1, flags=re.MULTILINE)
    else:
        text = text.rstrip("\n") + "\n\nsystems:\n" + _SYSTEM_BLOCK
    manifest.write_text(text, encoding="utf-8")


def install_crm(settings: Settings) -> Path:
    """Create the demo customer database, its annotations and its system entry (once); return the database."""
    home = settings.home
    database = home / "crm.db"
    if not database.exists():
        build_crm(database)
    annotations = home / CRM_DATASETS
    if not annotations.exists():
        annotations.parent.mkdir(parents=True, exist_ok=True)
        annotations.write_text(annotations_text(), encoding="utf-8")
    _append_env(home / ".env", {CRM_URL_VARIABLE: f"sqlite:///{database.resolve()}",
                                KEYS_VARIABLE: Keyring.generate("k1").to_env()})
    _add_system(settings.manifest_path)
    result = check_file(settings.manifest_path)
    if not result.ok:
        raise WorkspaceError(str(ManifestError(result.filename, result.errors or result.problems)))
    return database


def prepare_demo(folder: Path) -> PreparedDemo:
    """Create or refresh a demo workspace; each run gives the demo user a new random password."""
    settings = init_workspace(folder)
    install_crm(settings)
    workspace = Workspace(settings)
    password = secrets.token_urlsafe(12)
    with transaction(workspace.sessions) as session:
        publish_policy(session, workspace.manifest, actor="demo")
        exists = session.scalars(select(AdminUser).where(AdminUser.username == DEMO_USER)).first()
        if exists:
            set_password(session, DEMO_USER, password, actor="demo")
        else:
            create_user(session, DEMO_USER, password, "dpo", actor="demo")
    seed_activity(workspace)
    workspace.dispose()
    return PreparedDemo(settings, DEMO_USER, password)


def seed_activity(workspace: Workspace) -> None:
    """A year of consents, a few rights requests and breaches, so every dashboard page has something real."""
    from charte.breaches.counting import SystemDatabases, system_environment
    from charte.breaches.demo import seed_demo_breach
    from charte.consent.demo import seed_demo_consents
    from charte.ledger import utcnow
    from charte.rights.demo import seed_demo_requests

    manifest = workspace.manifest
    with transaction(workspace.sessions) as session:
        seed_demo_consents(session, manifest, clock=utcnow)
    with transaction(workspace.sessions) as session:
        seed_demo_requests(session, manifest, clock=utcnow)
    databases = SystemDatabases.from_manifest(manifest, system_environment(workspace.settings.home))
    try:
        with transaction(workspace.sessions) as session:
            seed_demo_breach(session, manifest, clock=utcnow, count_rows=databases.count_rows,
                             manifest_dir=workspace.settings.manifest_path.parent)
    finally:
        databases.close()
