"""The execution step: what a request does in the organisation's systems, behind a protocol.

The datastores feature implements :class:`Executor` against connected databases. Until it is wired, the default
:class:`ManifestExecutor` tells the truth: with no system declared in the manifest there is nothing to search or
change; with systems declared but no executor, the step fails and the DPO sees why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session, sessionmaker

from charte.ledger.chain import Clock
from charte.manifest import Manifest
from charte.rights.identity import Identity

JsonValue = Any


class ExecutionUnavailable(RuntimeError):
    """The manifest declares systems but no executor can reach them: the request cannot be executed yet."""


@dataclass(frozen=True)
class FoundValue:
    """One field of a record found about the subject."""

    field: str
    value: JsonValue
    category: str | None = None


@dataclass(frozen=True)
class FoundRecord:
    """A row (or document) about the subject in one collection of one system."""

    system: str
    collection: str
    values: tuple[FoundValue, ...]


@dataclass(frozen=True)
class SystemAction:
    """What was done to data in a system: erased, masked, pseudonymised, rectified, restricted, or kept (why)."""

    system: str
    collection: str
    action: str
    field: str | None = None
    count: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class ExecutionOutcome:
    """The result of the execution step, as the answer to the subject reports it."""

    systems: tuple[str, ...] = ()
    records: tuple[FoundRecord, ...] = ()
    actions: tuple[SystemAction, ...] = ()
    notes: tuple[str, ...] = ()
    dry_run: bool = False

    @property
    def no_connected_systems(self) -> bool:
        """Whether no system was consulted at all (nothing is connected)."""
        return not self.systems

    def to_json(self) -> dict[str, JsonValue]:
        """A JSON-ready dict (stored with the answer)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, JsonValue]) -> ExecutionOutcome:
        """The outcome stored by :meth:`to_json`."""
        return cls(
            systems=tuple(data.get("systems", ())),
            records=tuple(FoundRecord(r["system"], r["collection"], tuple(FoundValue(**v) for v in r["values"]))
                          for r in data.get("records", ())),
            actions=tuple(SystemAction(**a) for a in data.get("actions", ())),
            notes=tuple(data.get("notes", ())),
            dry_run=bool(data.get("dry_run", False)),
        )


@runtime_checkable
class Executor(Protocol):
    """Runs one request type against the organisation's systems (access, portability, erasure...)."""

    def execute(self, request_type: str, identity: Identity, *, manifest: Manifest, store: sessionmaker[Session],
                request_id: str, details: str | None = None, dry_run: bool = False,
                clock: Clock) -> ExecutionOutcome:
        """Search or change the subject's data and return what was found and done.

        It runs outside any transaction of the workflow (it may take long, and on SQLite a held write lock would
        block it): ``store`` opens Charte's own sessions for its journal and ledger events. It must be idempotent:
        after a crash the request is executed again.
        """
        ...


@dataclass(frozen=True)
class ManifestExecutor:
    """The default executor: truthful about having no connection to the organisation's systems."""

    notes: tuple[str, ...] = field(default=())

    def execute(self, request_type: str, identity: Identity, *, manifest: Manifest, store: sessionmaker[Session],
                request_id: str, details: str | None = None, dry_run: bool = False,
                clock: Clock) -> ExecutionOutcome:
        """No systems declared: an empty outcome saying so. Systems declared: refuse rather than pretend."""
        if manifest.systems:
            raise ExecutionUnavailable(
                f"the manifest declares {len(manifest.systems)} system(s) ({', '.join(manifest.systems)}) but no "
                "datastores executor is configured: the request cannot be executed against them")
        return ExecutionOutcome(dry_run=dry_run, notes=self.notes)
