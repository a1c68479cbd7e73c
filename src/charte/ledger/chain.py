"""The append-only, hash-chained event log that proves what Charte did and when."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Row, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from charte.store.driver import DriverConnection, HotStatement
from charte.store.models import LedgerEvent, LedgerHead

GENESIS = "0" * 64
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


# One encoder for every call: json.dumps with options builds a new one each time. Ledger payloads are built by
# Charte as trees, so the encoder need not track containers to detect cycles.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
                              check_circular=False)


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept as is."""
    return _CANONICAL.encode(value)


# Dates, dataclasses and subclasses of the plain types go to _not_plain, which refuses them (see plain_json).
_PLAIN = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
          | orjson.OPT_PASSTHROUGH_SUBCLASS)


def _not_plain(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def plain_json(value: Any) -> str:
    """:func:`canonical_json` of a value made of text, integers, booleans, None, lists and objects with text keys,
    and no floats: the same text, written by orjson (ten times faster). Dates, dataclasses, subclasses of the
    plain types, keys that are not text and integers beyond 64 bits go through :func:`canonical_json`. A float
    (written in orjson's shortest form, which differs from Python's below 1e-4) or a plain Enum (its value, not
    its name) would not: hence the caller's promise."""
    try:
        return orjson.dumps(value, default=_not_plain, option=_PLAIN).decode()
    except orjson.JSONEncodeError:
        return canonical_json(value)


def event_hash(*, seq: int, recorded_at: str, type: str, actor: str, subject: str | None, payload: str,
               prev_hash: str) -> str:
    """SHA-256 over the previous hash and the event's canonical JSON."""
    return hashlib.sha256((prev_hash + event_body(seq=seq, recorded_at=recorded_at, type=type, actor=actor,
                                                  subject=subject, payload=payload,
                                                  prev_hash=prev_hash)).encode()).hexdigest()


def event_body(*, seq: int, recorded_at: str, type: str, actor: str, subject: str | None, payload: str,
               prev_hash: str) -> str:
    """The event's canonical JSON, written out in key order (every event is hashed, so no dict is sorted)."""
    try:
        # What the encoder does with text, without its dispatch (it runs seven times per event).
        text = encode_basestring
        who = "null" if subject is None else text(subject)
        return (f'{{"actor":{text(actor)},"payload":{text(payload)},"prev_hash":{text(prev_hash)},'
                f'"recorded_at":{text(recorded_at)},"seq":{int(seq)},"subject":{who},"type":{text(type)}}}')
    except TypeError:  # a value that is not text: the encoder writes it
        return canonical_json({"actor": actor, "payload": payload, "prev_hash": prev_hash, "recorded_at": recorded_at,
                               "seq": int(seq), "subject": subject, "type": type})


_EVENTS = cast(Table, LedgerEvent.__table__)
_HEAD = cast(Table, LedgerHead.__table__)
# Run straight on the driver: this runs on every regulated change and every data-subject request, where
# SQLAlchemy's execution layer would cost more than the statements themselves.
_LOCK_HEAD = HotStatement(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update())
_EVENT_COLUMNS = ("seq", "recorded_at", "type", "actor", "subject", "payload", "prev_hash", "hash")
_ADD_EVENT = HotStatement(insert(_EVENTS).values({name: bindparam(name) for name in _EVENT_COLUMNS}))
_MOVE_HEAD = HotStatement(update(_HEAD).where(_HEAD.c.id == 1).values(seq=bindparam("new_seq"),
                                                                      hash=bindparam("new_hash")))


def append_in(conn: Connection | DriverConnection, type: str, payload: dict[str, Any], *, actor: str,
              subject: str | None = None, clock: Clock = utcnow, plain: bool = False) -> dict[str, Any]:
    """Append one event in ``conn``'s transaction, after the locked head; return the stored columns. ``plain``: the
    payload holds no floats (see :func:`plain_json`)."""
    [(head_seq, head_hash)] = _LOCK_HEAD.rows(conn)
    fields: dict[str, Any] = {
        "seq": head_seq + 1,
        "recorded_at": clock().astimezone(UTC).isoformat(timespec="microseconds"),
        "type": type,
        "actor": actor,
        "subject": subject,
        "payload": plain_json(payload) if plain else canonical_json(payload),
        "prev_hash": head_hash,
    }
    fields["hash"] = event_hash(**fields)
    _ADD_EVENT.run(conn, fields)
    _MOVE_HEAD.run(conn, {"new_seq": fields["seq"], "new_hash": fields["hash"]})
    return fields


def append(session: Session, type: str, payload: dict[str, Any], *, actor: str, subject: str | None = None,
           clock: Clock = utcnow) -> LedgerEvent:
    """Append one event in the caller's transaction, after the current head."""
    return LedgerEvent(**append_in(session.connection(), type, payload, actor=actor, subject=subject, clock=clock))


def events(session: Session, *, batch: int = 5000) -> Iterator[Row[Any]]:
    """All events in chain order as plain rows, read in batches so memory stays flat."""
    table = LedgerEvent.__table__
    last = 0
    while True:
        rows = session.execute(select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


@dataclass(frozen=True)
class Verification:
    """The outcome of recomputing the chain."""

    ok: bool
    count: int
    head_hash: str
    broken_position: int | None = None
    broken_seq: int | None = None
    reason: str | None = None

    def describe(self) -> str:
        """One line for people."""
        if self.ok:
            return f"ledger intact: {self.count} events, head {self.head_hash}"
        return (f"ledger BROKEN at position {self.broken_position} (event seq {self.broken_seq}): {self.reason}; "
                f"{self.count} events before it verified")


def _problem(event: Row[Any], position: int, prev: str) -> str | None:
    if event.seq != position:
        return f"sequence number {event.seq} where {position} was expected (event removed or moved)"
    if event.prev_hash != prev:
        return "its link to the previous event does not match"
    recomputed = event_hash(seq=event.seq, recorded_at=event.recorded_at, type=event.type, actor=event.actor,
                            subject=event.subject, payload=event.payload, prev_hash=event.prev_hash)
    if recomputed != event.hash:
        return "its content does not match its hash (altered)"
    return None


def verify(session: Session, *, expected_head: str | None = None) -> Verification:
    """Recompute every hash; report the first event whose content or link does not match."""
    prev, position = GENESIS, 0
    for event in events(session):
        position += 1
        if reason := _problem(event, position, prev):
            return Verification(False, position - 1, prev, position, event.seq, reason)
        prev = event.hash
    head = session.get(LedgerHead, 1)
    stored_head = (head.seq, head.hash) if head else (0, GENESIS)
    if stored_head != (position, prev):
        return Verification(False, position, prev, position + 1, stored_head[0],
                            "the recorded head does not match the last event (events removed at the end)")
    if expected_head is not None and expected_head != prev:
        return Verification(False, position, prev, position + 1, None,
                            f"the head hash differs from the published {expected_head}")
    return Verification(True, position, prev)
