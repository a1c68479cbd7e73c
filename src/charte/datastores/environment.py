"""The environment a workspace's systems are resolved in: the process environment over the workspace's ``.env``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from dotenv import dotenv_values

from charte.anonymise import KEYS_VARIABLE, Keyring
from charte.config import Settings
from charte.datastores.catalog import ConnectedSystem, load_systems
from charte.manifest.models import Manifest


def home_environ(home: Path) -> dict[str, str]:
    """Variables of the ``.env`` in ``home``, overridden by the process environment (as for settings)."""
    env_file = home / ".env"
    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None} if env_file.is_file() else {}
    return {**values, **os.environ}


def workspace_environ(settings: Settings) -> dict[str, str]:
    """The environment of a workspace's systems (see :func:`home_environ`)."""
    return home_environ(settings.home)


def workspace_systems(settings: Settings, manifest: Manifest, *,
                      only: Iterable[str] | None = None) -> dict[str, ConnectedSystem]:
    """The workspace's annotated systems with their URLs resolved (see :func:`load_systems`)."""
    return load_systems(manifest, settings.manifest_path, environ=workspace_environ(settings), only=only)


def workspace_keyring(settings: Settings) -> Keyring | None:
    """The pseudonymisation keys of the workspace, if configured."""
    environ = workspace_environ(settings)
    return Keyring.from_env(environ) if environ.get(KEYS_VARIABLE, "").strip() else None
