"""The datastores feature as the rights workflow's :class:`~charte.rights.execution.Executor`.

It reads the manifest's dataset annotations, runs :func:`charte.datastores.execute` on every connected system and
turns its report into the outcome the letters use. Identifier kinds offered by the request form come from the
annotations' identity fields.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from sqlalchemy.orm import Session, sessionmaker

from charte.ledger.chain import Clock
from charte.manifest import Manifest
from charte.rights.execution import ExecutionOutcome, FoundRecord, FoundValue, SystemAction
from charte.rights.identity import FALLBACK_IDENTIFIER_CATEGORIES, IdentifierKind, Identity, identifier_kinds

#: The privacy center's fallback identifier kinds (data categories) as the annotations' identity kinds.
IDENTITY_ALIASES = {"user.unique_id": "customer_id", "user.contact.phone_number": "phone_number",
                    "user.account.username": "username"}
EXECUTED = frozenset({"access", "portability", "erasure", "rectification", "restriction"})


class ExecutionFailed(RuntimeError):
    """A connected system failed; the datastores journal lets the next attempt resume where this one stopped."""


def parse_changes(details: str | None) -> dict[str, str]:
    """The ``field = value`` (or ``category = value``) lines of a rectification's details."""
    changes: dict[str, str] = {}
    for line in (details or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and value.strip():
            changes[key.strip()] = value.strip()
    return changes


def _first(categories: list[str]) -> str | None:
    return categories[0] if categories else None


def outcome_from_report(report: Any) -> ExecutionOutcome:
    """The datastores' :class:`~charte.datastores.ExecutionReport` as an :class:`ExecutionOutcome`."""
    from charte.datastores.report import json_value

    records: list[FoundRecord] = []
    actions: list[SystemAction] = []
    notes: list[str] = []
    changed = "rectified" if report.request_type == "rectification" else "masked"
    for system in report.systems:
        for collection in system.collections:
            categories = {f.name: _first(list(f.categories)) for f in collection.fields}
            names = collection.rows.names
            for values in collection.rows.tuples():
                records.append(FoundRecord(system.system, collection.name, tuple(
                    FoundValue(name, json_value(value), categories.get(name))
                    for name, value in zip(names, values, strict=True))))
            for action, count in (("deleted", collection.deleted), (changed, collection.updated),
                                  ("restricted", collection.restricted)):
                if count:
                    actions.append(SystemAction(system.system, collection.name, action, count=count))
            notes += [f"{system.system} / {collection.name}: {note}" for note in collection.notes]
        for kept in system.kept:
            until = f", until {kept.until.isoformat()}" if kept.until else ""
            actions.append(SystemAction(system.system, kept.collection, "kept", count=kept.rows,
                                        reason=f"{kept.reason or kept.purpose} ({kept.period}{until})"))
    return ExecutionOutcome(systems=tuple(s.system for s in report.systems), records=tuple(records),
                            actions=tuple(actions), notes=tuple(notes), dry_run=bool(report.dry_run))


class DatastoresExecutor:
    """Runs access, portability, erasure, rectification and restriction on the connected systems."""

    def __init__(self, manifest_path: Path, *, environ: Mapping[str, str] | None = None) -> None:
        self.manifest_path = manifest_path
        self.environ = environ

    def identifier_kinds(self, manifest: Manifest) -> list[IdentifierKind]:
        """The identity kinds the annotations declare (besides email), labelled by their data category."""
        return identifier_kinds(manifest, self.manifest_path.parent)

    def execute(self, request_type: str, identity: Identity, *, manifest: Manifest, store: sessionmaker[Session],
                request_id: str, details: str | None = None, dry_run: bool = False,
                clock: Clock) -> ExecutionOutcome:
        """Run the request on every system; a failed system raises so the request is retried."""
        from charte.datastores import execute, load_systems

        if request_type not in EXECUTED:
            return ExecutionOutcome()
        from charte.anonymise import KEYS_VARIABLE, Keyring

        environ = os.environ if self.environ is None else self.environ
        systems = load_systems(manifest, self.manifest_path, environ=environ)
        keyring = Keyring.from_env(environ) if environ.get(KEYS_VARIABLE, "").strip() else None
        given: dict[str, str] = {"email": identity.email} if identity.email else {}
        for kind, value in identity.identifiers.items():
            given[IDENTITY_ALIASES.get(kind, kind) if kind in FALLBACK_IDENTIFIER_CATEGORIES else kind] = value
        changes = parse_changes(details) if request_type == "rectification" else None
        report = execute(cast(Any, request_type), given, manifest=manifest, systems=systems, store=store,
                         request_id=request_id, changes=changes, dry_run=dry_run, keyring=keyring, actor="rights",
                         clock=clock)
        if not report.ok:
            failed = [f"{s.system}: {s.error}" for s in report.systems if s.status == "failed"]
            raise ExecutionFailed("; ".join(failed) or "a system failed")
        return outcome_from_report(report)
