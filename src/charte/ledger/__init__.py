"""Append-only, hash-chained ledger of every state change a regulator may ask about."""

from charte.ledger.chain import (
           GENESIS,
           Verification,
           append,
           append_in,
           canonical_json,
           event_hash,
           events,
           utcnow,
           verify,
)
from charte.ledger.export import export_jsonl

__all__ = ["GENESIS", "Verification", "append", "append_in", "canonical_json", "event_hash", "events", "export_jsonl",
           "utcnow", "verify"]
