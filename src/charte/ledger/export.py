"""Export the ledger with its head hash, as a proof that can be published and checked later."""

from __future__ import annotations

import json
from typing import IO

from sqlalchemy.orm import Session

from charte.ledger.chain import events, utcnow, verify


def export_jsonl(session: Session, out: IO[str]) -> str:
    """Write one JSON object per event, then a head line; return the head hash."""
    result = verify(session)
    for event in events(session):
        out.write(json.dumps({
            "seq": event.seq, "recorded_at": event.recorded_at, "type": event.type, "actor": event.actor,
            "subject": event.subject, "payload": json.loads(event.payload), "prev_hash": event.prev_hash,
            "hash": event.hash,
        }, ensure_ascii=False, sort_keys=True) + "\n")
    out.write(json.dumps({"head": {"count": result.count, "hash": result.head_hash, "verified": result.ok,
                                   "exported_at": utcnow().isoformat()}}) + "\n")
    return result.head_hash
