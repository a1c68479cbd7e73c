"""The last retention runs, read from the ledger's ``retention.*`` events once the retention module exists."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.store.models import LedgerEvent


@dataclass(frozen=True)
class RetentionRun:
    """One retention event as the ledger recorded it."""

    seq: int
    recorded_at: str
    type: str
    actor: str
    payload: dict[str, Any]


def retention_module_present() -> bool:
    """Whether Charte has its retention module (the retention issue)."""
    return importlib.util.find_spec("charte.retention") is not None


def last_retention_runs(session: Session, limit: int = 5) -> list[RetentionRun] | None:
    """The newest retention events; None when there is no retention module (the section is then not shown)."""
    if not retention_module_present():
        return None
    # The retention sweeps record one summary event per collection in the ledger: that is the shared contract.
    events = session.scalars(select(LedgerEvent).where(LedgerEvent.type.like("retention.%"))
                             .order_by(LedgerEvent.seq.desc()).limit(limit))
    return [RetentionRun(e.seq, e.recorded_at, e.type, e.actor, _payload(e.payload)) for e in events]


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
