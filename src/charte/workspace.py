"""A workspace: a folder with the manifest, Charte's database and its secrets."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from charte.config import Settings
from charte.manifest import Manifest, load_manifest
from charte.store import ensure_ready, make_engine, make_read_engine, migrate, session_factory


class WorkspaceError(Exception):
    """The workspace cannot be created or opened as asked."""


def example_manifest() -> Path:
    """The reference customer's manifest, from the installed package or the source tree."""
    packaged = resources.files("charte") / "examples" / "equasens" / "charte.yaml"
    if packaged.is_file():
        return Path(str(packaged))
    source = Path(__file__).resolve().parents[2] / "examples" / "equasens" / "charte.yaml"
    if source.is_file():
        return source
    raise WorkspaceError("the example manifest is missing from this installation")


@dataclass
class Workspace:
    """Everything a command or the web app needs: settings, manifest, store."""

    settings: Settings
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.store_url)

    @cached_property
    def manifest(self) -> Manifest:
        """The manifest, loaded once and checked."""
        return load_manifest(self.settings.manifest_path)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Session factory bound to the store."""
        return session_factory(self.engine)

    @cached_property
    def reader(self) -> Engine:
        """An engine for reads that take no write lock (permission checks, the banner's sync)."""
        if self.engine.dialect.name != "sqlite":
            return self.engine  # reads take no write lock there: one pool is enough
        return make_read_engine(self.settings.store_url)

    def dispose(self) -> None:
        """Close every pooled connection of the store's engines."""
        self.engine.dispose()
        reader = self.__dict__.get("reader")
        if reader is not None and reader is not self.engine:
            reader.dispose()

    def ready(self) -> Workspace:
        """Fail early with a clear message if the store is not migrated."""
        ensure_ready(self.engine)
        return self


def init_workspace(folder: Path, *, manifest_source: Path | None = None) -> Settings:
    """Create (or complete) a workspace; never overwrite an existing manifest or secret."""
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise WorkspaceError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "charte.yaml"
    if not target.exists():
        shutil.copyfile(manifest_source or example_manifest(), target)
    env_file = folder / ".env"
    if not env_file.exists():
        env_file.write_text(
            "# Secrets of this Charte workspace. Keep this file private (mode 600); never commit it.\n"
            f"CHARTE_SECRET_KEY={secrets.token_urlsafe(48)}\n",
            encoding="utf-8",
        )
        env_file.chmod(0o600)
    settings = Settings.for_home(folder)
    migrate(make_engine(settings.store_url))
    return settings
