"""What an execution did, per system and collection: for the subject, the DPO, the ledger (counts only)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal, overload
from uuid import UUID

RequestType = Literal["access", "portability", "erasure", "rectification", "restriction"]
REQUEST_TYPES: tuple[RequestType, ...] = ("access", "portability", "erasure", "rectification", "restriction")
#: Ledger event type of each request type.
LEDGER_EVENTS: dict[RequestType, str] = {
    "access": "datastore.accessed",
    "portability": "datastore.accessed",
    "erasure": "datastore.erased",
    "rectification": "datastore.rectified",
    "restriction": "datastore.restricted",
}
Status = Literal["done", "resumed", "already_done", "dry_run", "failed"]


def json_value(value: Any) -> Any:
    """A database value as JSON: dates in ISO 8601, decimals as text, bytes in base64."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return str(value)


class Rows(Sequence[dict[str, Any]]):
    """A collection's rows in an access report, each a dict of field name to value, made when first read.

    The values stay as the database gave them until then: most reports are serialised once, or only counted,
    and making every dict up front was a tenth of an access request on SQLite.
    """

    __slots__ = ("_dicts", "_pick", "_read", "names")

    def __init__(self, names: Sequence[str] = (), read: Sequence[Sequence[Any]] = (),
                 pick: Callable[[Sequence[Any]], Sequence[Any]] | None = None) -> None:
        #: The field names, in the order of each row's values.
        self.names = tuple(names)
        self._read = read
        self._pick = pick
        self._dicts: list[dict[str, Any]] | None = None

    def tuples(self) -> Iterator[Sequence[Any]]:
        """Each row's values, in the order of :attr:`names`."""
        return iter(self._read) if self._pick is None else map(self._pick, self._read)

    def json(self) -> list[dict[str, Any]]:
        """The rows with JSON values (see :func:`json_value`)."""
        names = self.names
        return [{name: json_value(value) for name, value in zip(names, values, strict=True)}
                for values in self.tuples()]

    def _made(self) -> list[dict[str, Any]]:
        if self._dicts is None:
            names = self.names
            self._dicts = [dict(zip(names, values, strict=True)) for values in self.tuples()]
        return self._dicts

    def __len__(self) -> int:
        return len(self._read)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        return self._made()[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._made())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows | list | tuple):
            return self._made() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rows({self._made()!r})"


@dataclass
class Statement:
    """A statement as sent to the database (parameters rendered for reading), and the rows it touches."""

    sql: str
    rows: int
    write: bool


@dataclass
class Kept:
    """Data an erasure did not touch because a law requires keeping it."""

    collection: str
    rows: int
    purpose: str
    reason: str | None
    period: str
    until: date | None
    fields: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"collection": self.collection, "rows": self.rows, "purpose": self.purpose, "reason": self.reason,
                "period": self.period, "until": self.until.isoformat() if self.until else None,
                "fields": list(self.fields)}


@dataclass
class FieldReport:
    """A field of an access report: its data categories and the purposes that use it."""

    name: str
    categories: list[str]
    purposes: list[str]
    portable: bool


@dataclass
class CollectionReport:
    """One collection of one system: rows found and what was done to them."""

    name: str
    found: int = 0
    deleted: int = 0
    updated: int = 0
    restricted: int = 0
    kept: int = 0
    fields: list[FieldReport] = field(default_factory=list)
    rows: Rows = field(default_factory=Rows)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The non-zero counts (what the ledger records), ``found`` always."""
        # Written out: this runs for every collection of every request, and most counts are zero.
        data = {"found": self.found}
        if self.deleted:
            data["deleted"] = self.deleted
        if self.updated:
            data["updated"] = self.updated
        if self.restricted:
            data["restricted"] = self.restricted
        if self.kept:
            data["kept"] = self.kept
        return data

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data: dict[str, Any] = {"name": self.name, **self.counts()}
        if self.fields:
            data["fields"] = [asdict(f) for f in self.fields]
            data["rows"] = self.rows.json()
        if self.notes:
            data["notes"] = list(self.notes)
        return data

    def journal(self) -> dict[str, Any]:
        """The counts and notes only (what the journal keeps; :meth:`from_dict` reads it back)."""
        data: dict[str, Any] = {"name": self.name, **self.counts()}
        if self.notes:
            data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CollectionReport:
        """Rebuild the counts part (what the journal stores)."""
        return cls(data["name"], found=int(data.get("found", 0)), deleted=int(data.get("deleted", 0)),
                   updated=int(data.get("updated", 0)), restricted=int(data.get("restricted", 0)),
                   kept=int(data.get("kept", 0)), notes=list(data.get("notes", [])))


@dataclass
class SystemReport:
    """One system: its collections, kept data, statements (dry run) and error if it failed."""

    system: str
    name: str
    url: str
    status: Status = "done"
    collections: list[CollectionReport] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    error: str | None = None

    def collection(self, name: str) -> CollectionReport:
        """The report of one collection (created empty when absent)."""
        for report in self.collections:
            if report.name == name:
                return report
        report = CollectionReport(name)
        self.collections.append(report)
        return report

    def totals(self) -> dict[str, int]:
        """Counts summed over the collections."""
        out: dict[str, int] = {}
        for report in self.collections:
            for key, value in report.counts().items():
                out[key] = out.get(key, 0) + value
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data: dict[str, Any] = {"system": self.system, "name": self.name, "url": self.url, "status": self.status,
                                "collections": [c.to_dict() for c in self.collections]}
        if self.kept:
            data["kept"] = [k.to_dict() for k in self.kept]
        if self.statements:
            data["statements"] = [asdict(s) for s in self.statements]
        if self.error:
            data["error"] = self.error
        return data

    def journal(self) -> dict[str, Any]:
        """What the journal keeps to answer again for a finished execution: counts and kept data, no values."""
        return {"collections": [c.journal() for c in self.collections], "kept": [k.to_dict() for k in self.kept]}

    def restore(self, data: dict[str, Any]) -> None:
        """Fill counts and kept data from :meth:`journal`."""
        self.collections = [CollectionReport.from_dict(c) for c in data.get("collections", [])]
        self.kept = [Kept(**{**k, "until": date.fromisoformat(k["until"]) if k.get("until") else None})
                     for k in data.get("kept", [])]


@dataclass
class ExecutionReport:
    """A request executed on every connected system."""

    request_id: str
    request_type: RequestType
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None = None
    systems: list[SystemReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every system completed."""
        return all(s.status != "failed" for s in self.systems)

    def totals(self) -> dict[str, int]:
        """Counts summed over every system."""
        out: dict[str, int] = {}
        for system in self.systems:
            for key, value in system.totals().items():
                out[key] = out.get(key, 0) + value
        return out

    def kept(self) -> list[Kept]:
        """Everything kept under a legal hold, over every system."""
        return [k for s in self.systems for k in s.kept]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the subject's data included for access and portability)."""
        return {"request_id": self.request_id, "request_type": self.request_type, "dry_run": self.dry_run,
                "started_at": self.started_at.isoformat(),
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "ok": self.ok, "totals": self.totals(), "systems": [s.to_dict() for s in self.systems]}

    def portable_data(self) -> dict[str, Any]:
        """Art. 20 export: the subject's provided data per system and collection, as plain JSON."""
        return {s.system: {c.name: c.rows.json() for c in s.collections if c.rows} for s in self.systems}
