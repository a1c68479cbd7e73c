"""Exporting consent events (JSON Lines or CSV) and summarising one subject's standing."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.consent.permissions import Permission, check_permission
from charte.consent.proof import UnknownSubject
from charte.consent.restriction import NO_RESTRICTIONS, RestrictionSource
from charte.consent.state import subject_states
from charte.consent.subjects import SubjectKey, effective_subject, find_subject, linked_visitors
from charte.consent.vocabulary import instant_text
from charte.ledger.chain import Clock, utcnow
from charte.manifest import Manifest
from charte.spreadsheets import formula_safe
from charte.store.consent import ConsentEvent, ConsentState, ConsentSubject

EXPORT_FIELDS = ("event_id", "recorded_at", "decided_at", "subject", "subject_kind", "via", "scope", "key",
                 "decision", "method", "policy_version", "notice_version", "lang", "ip_prefix", "user_agent",
                 "actor", "origin_event", "content_sha256", "ledger_seq")
_BATCH = 5000


def _rows(session: Session, *, identifiers: bool) -> Iterator[dict[str, Any]]:
    subjects: dict[int, ConsentSubject] = {}
    last = 0
    while True:
        batch = list(session.scalars(select(ConsentEvent).where(ConsentEvent.id > last)
                                     .order_by(ConsentEvent.id).limit(_BATCH)))
        if not batch:
            return
        wanted = {e.subject_id for e in batch} | {e.via_subject_id for e in batch if e.via_subject_id}
        missing = wanted - subjects.keys()
        if missing:
            subjects.update({s.id: s for s in session.scalars(select(ConsentSubject)
                                                              .where(ConsentSubject.id.in_(missing)))})
        for event in batch:
            subject = subjects[event.subject_id]
            via = subjects[event.via_subject_id] if event.via_subject_id else None
            yield {
                "event_id": event.id, "recorded_at": instant_text(event.recorded_at),
                "decided_at": instant_text(event.decided_at),
                "subject": subject.key if identifiers else subject.ref, "subject_kind": subject.kind,
                "via": (via.key if identifiers else via.ref) if via else None, "scope": event.scope,
                "key": event.key, "decision": event.decision, "method": event.method,
                "policy_version": event.policy_version, "notice_version": event.notice_version, "lang": event.lang,
                "ip_prefix": event.ip_prefix, "user_agent": event.user_agent, "actor": event.actor,
                "origin_event": event.origin_event_id, "content_sha256": event.content_sha256,
                "ledger_seq": event.ledger_seq,
            }
        last = batch[-1].id


def export_consents(session: Session, out: IO[str], *, fmt: str = "jsonl", identifiers: bool = False) -> int:
    """Write every consent event, oldest first, as JSON Lines or CSV; subjects by pseudonym unless asked."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for row in _rows(session, identifiers=identifiers):
            writer.writerow({k: formula_safe(v) if isinstance(v, str) else v for k, v in row.items()})
            count += 1
        return count
    if fmt != "jsonl":
        raise ValueError(f"unknown export format {fmt!r}: jsonl or csv")
    for row in _rows(session, identifiers=identifiers):
        out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


@dataclass(frozen=True)
class SubjectSummary:
    """Where one subject stands: pseudonym, linked visitors, current decisions and every purpose's answer."""

    id: int
    key: str
    ref: str
    linked: list[str]
    states: list[ConsentState]
    permissions: list[Permission]


def subject_summary(session: Session, manifest: Manifest, key: SubjectKey, *, clock: Clock = utcnow,
                    restrictions: RestrictionSource = NO_RESTRICTIONS) -> SubjectSummary:
    """The current standing of ``key`` (through its link, for a visitor); :class:`UnknownSubject` if never seen."""
    found = find_subject(session, key)
    if found is None:
        raise UnknownSubject(f"no consent recorded for {key}")
    principal = effective_subject(session, found)
    answers = [check_permission(session, manifest, key, purpose, clock=clock, restrictions=restrictions)
               for purpose in manifest.purposes]
    linked = [v.key for v in linked_visitors(session, principal)]
    return SubjectSummary(principal.id, principal.key, principal.ref, linked, subject_states(session, principal),
                          answers)
