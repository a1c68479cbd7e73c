"""The environment a workspace's systems are resolved in: the process environment over the workspace's ``.env``."""

from __future__ import annotations

import os
from collections.abc import Iterable

from dotenv import dotenv_values

from charte.anonymise import KEYS_VARIABLE, Keyring
from charte.config import Settings
from charte.datastores.catalog import ConnectedSystem, load_systems
from charte.manifest.models import Manifest


def workspace_environ(settings: Settings) -> dict[str, str]:
    """Variables of the workspace's ``.env``, overridden by the process environment (as for settings)."""
    env_file = settings.home / ".env"
    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None} if env_file.exists() else {}
    return {**values, **os.environ}


def workspace_systems(settings: Settings, manifest: Manifest, *,
                      only: Iterable[str] | None = None) -> dict[str, ConnectedSystem]:
    """The workspace's annotated systems with their URLs resolved (see :func:`load_systems`)."""
    return load_systems(manifest, settings.manifest_path, environ=workspace_environ(settings), only=only)


def workspace_keyring(settings: Settings) -> Keyring | None:
    """The pseudonymisation keys of the workspace, if configured."""
    environ = workspace_environ(settings)
    return Keyring.from_env(environ) if environ.get(KEYS_VARIABLE, "").strip() else None
