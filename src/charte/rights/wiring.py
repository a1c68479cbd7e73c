"""Assembling the workflow's services for a workspace: the one place where the plug-ins are chosen.

The execution step (datastores) and the consent actions are chosen here, so the web app, the CLI and the jobs
all run requests the same way.
"""

from __future__ import annotations

from charte.ledger import utcnow
from charte.ledger.chain import Clock
from charte.rights.consent_actions import ConsentActions
from charte.rights.execution import Executor, ManifestExecutor
from charte.rights.identity import IdentifierKind, identifier_kinds
from charte.rights.links import RightsSigner
from charte.rights.policy import policy_from_settings
from charte.rights.service import RightsServices
from charte.workspace import Workspace

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def default_executor(workspace: Workspace) -> Executor:
    """The datastores executor when the manifest declares systems, else the truthful "no connected system"."""
    if workspace.manifest.systems:
        from charte.datastores.environment import workspace_environ
        from charte.rights.datastores_executor import DatastoresExecutor

        # The workspace's .env holds the systems' URLs and pseudonym keys (as `charte demo` writes them).
        return DatastoresExecutor(workspace.settings.manifest_path, environ=workspace_environ(workspace.settings))
    return ManifestExecutor()


def offered_identifiers(workspace: Workspace, executor: Executor) -> tuple[IdentifierKind, ...]:
    """The identifiers the form offers: the executor's identity fields when it knows them, else those of the
    manifest's dataset annotations (``file:`` references included)."""
    kinds = getattr(executor, "identifier_kinds", None)
    if callable(kinds):
        return tuple(kinds(workspace.manifest))
    return tuple(identifier_kinds(workspace.manifest, workspace.settings.manifest_path.parent))


def default_consent_actions(workspace: Workspace) -> ConsentActions:
    """The consent feature's engine: objections and withdrawals update the state the permission check reads."""
    from charte.rights.consent_engine import ConsentEngineActions

    return ConsentEngineActions(workspace.manifest)


def rights_services(workspace: Workspace, *, base_url: str | None = None, clock: Clock = utcnow,
                    executor: Executor | None = None, consent: ConsentActions | None = None) -> RightsServices:
    """The services of a workspace; links use ``CHARTE_PUBLIC_URL`` when set, else ``base_url`` (the request's)."""
    settings = workspace.settings
    chosen = executor or default_executor(workspace)
    return RightsServices(
        manifest=workspace.manifest,
        policy=policy_from_settings(settings),
        signer=RightsSigner(settings.secret_key),
        base_url=(settings.public_url or base_url or DEFAULT_PUBLIC_URL).rstrip("/"),
        mail_from=settings.mail_from or workspace.manifest.dpo.email,
        executor=chosen,
        consent=consent or default_consent_actions(workspace),
        clock=clock,
        identifiers=offered_identifiers(workspace, chosen),
    )
