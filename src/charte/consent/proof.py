"""Proof of consent: a subject's full history as an ISO/IEC TS 27560-shaped consent record, anchored in the ledger.

Each event carries the exact record that was hashed when it happened (``record``), its SHA-256, and the ledger
entry that holds that hash. Anyone holding the proof can recompute both hashes; :func:`verify_proof` also checks
them against the ledger in the store and the ledger's own chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.consent.notices import cookie_revision, notice_content
from charte.consent.state import consent_expiry, made_under, subject_states
from charte.consent.subjects import SubjectKey, effective_subject, find_subject, linked_visitors
from charte.consent.vocabulary import CollectionMethod, Decision, Scope, as_utc, instant_text
from charte.ledger import verify
from charte.ledger.chain import Clock, canonical_json, event_hash, utcnow
from charte.manifest import Manifest
from charte.store.consent import ConsentEvent, ConsentNotice, ConsentSubject
from charte.store.models import LedgerEvent, LedgerHead

SCHEMA_VERSION = "1"
SCHEMA_FILE = "consent-record.schema.json"
CONFORMS_TO = "ISO/IEC TS 27560:2023 Privacy technologies - Consent record information structure"
#: Methods through which the person acted; the others are recorded by the controller on their behalf.
_BY_PRINCIPAL = frozenset({CollectionMethod.banner, CollectionMethod.preferences, CollectionMethod.email_link,
                           CollectionMethod.gpc})


class UnknownSubject(LookupError):
    """Charte has recorded nothing for this subject."""


def record_schema() -> dict[str, Any]:
    """The JSON Schema that every consent record validates against (kept in the package)."""
    text = (resources.files("charte.consent") / "schema" / SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _controller(manifest: Manifest) -> dict[str, Any]:
    controller = manifest.controller
    return {
        "name": controller.name, "legal_name": controller.legal_name, "address": controller.address,
        "country": controller.country, "email": controller.contact.email, "url": controller.contact.url,
        "dpo": {"name": manifest.dpo.name, "email": manifest.dpo.email},
    }


def _ledger_entry(row: LedgerEvent) -> dict[str, Any]:
    return {"seq": row.seq, "recorded_at": row.recorded_at, "type": row.type, "actor": row.actor,
            "subject": row.subject, "payload": row.payload, "prev_hash": row.prev_hash, "hash": row.hash}


def _target(manifest: Manifest, scope: str, key: str) -> dict[str, Any]:
    if scope == Scope.category.value:
        category = manifest.cookies.categories.get(key)
        return {"scope": scope, "key": key, "name": dict(category.name) if category else None,
                "purposes": list(category.purposes) if category else [], "legal_basis": "consent"}
    purpose = manifest.purposes.get(key)
    return {"scope": scope, "key": key, "name": dict(purpose.name) if purpose else None, "purposes": [key],
            "legal_basis": purpose.legal_basis if purpose else None}


def _event(event: ConsentEvent, refs: dict[int, str], ledger: dict[int, LedgerEvent]) -> dict[str, Any]:
    record = {
        "subject": refs[event.subject_id],
        "via": refs.get(event.via_subject_id) if event.via_subject_id is not None else None,
        "scope": event.scope, "key": event.key, "decision": event.decision, "method": event.method,
        "recorded_at": instant_text(event.recorded_at), "decided_at": instant_text(event.decided_at),
        "policy_version": event.policy_version, "notice_version": event.notice_version, "lang": event.lang,
        "ip_prefix": event.ip_prefix, "user_agent": event.user_agent, "actor": event.actor,
        "origin_event": event.origin_event_id,
    }
    method = CollectionMethod(event.method)
    return {
        "event_id": event.id,
        "event_type": event.decision,
        "event_time": record["decided_at"],
        "recorded_at": record["recorded_at"],
        "event_by": "pii_principal" if method in _BY_PRINCIPAL else "pii_controller",
        "target": {"scope": event.scope, "key": event.key},
        "collection_method": event.method,
        "notice_version": event.notice_version,
        "policy_version": event.policy_version,
        "language": event.lang,
        "request": {"ip_prefix": event.ip_prefix, "user_agent_family": event.user_agent},
        "record": record,
        "record_sha256": event.content_sha256,
        "ledger": _ledger_entry(ledger[event.ledger_seq]),
    }


def consent_proof(session: Session, manifest: Manifest, subject: SubjectKey, *,
                  clock: Clock = utcnow) -> dict[str, Any]:
    """The consent record of ``subject``: current state per purpose and category, every event, ledger anchors."""
    found = find_subject(session, subject)
    if found is None:
        raise UnknownSubject(f"no consent recorded for {subject}")
    principal = effective_subject(session, found)
    visitors = linked_visitors(session, principal)
    refs = {s.id: s.ref for s in [principal, found, *visitors]}
    # The person's own events and those their linked devices recorded before they were identified.
    owners = [principal.id, *(v.id for v in visitors)]
    events = list(session.scalars(select(ConsentEvent).where(ConsentEvent.subject_id.in_(owners))
                                  .order_by(ConsentEvent.id)))
    extra_ids = {e.via_subject_id for e in events if e.via_subject_id is not None} - refs.keys()
    if extra_ids:
        for other in session.scalars(select(ConsentSubject).where(ConsentSubject.id.in_(extra_ids))):
            refs[other.id] = other.ref
    seqs = [e.ledger_seq for e in events]
    ledger = {row.seq: row for row in session.scalars(select(LedgerEvent).where(LedgerEvent.seq.in_(seqs)))} \
        if seqs else {}
    versions = sorted({e.notice_version for e in events if e.notice_version})
    notices = {n.version: {"kind": n.kind, "first_recorded_at": instant_text(n.first_recorded_at),
                           "content": notice_content(n)}
               for n in session.scalars(select(ConsentNotice).where(ConsentNotice.version.in_(versions)))} \
        if versions else {}
    now = as_utc(clock())
    revision = cookie_revision(manifest)
    state = []
    for current in subject_states(session, principal):
        scope = Scope(current.scope)
        since = as_utc(current.decided_at)
        expires = None
        target = _target(manifest, current.scope, current.key)
        standing = current.decision
        if current.decision == Decision.given.value and target["legal_basis"] == "consent":
            expires = consent_expiry(manifest, scope, current.key, since)
            if scope is Scope.category and not made_under(current.revision, revision):
                standing = "outdated"  # given under an earlier cookie section: it no longer counts
            elif now >= expires:
                standing = "expired"
        state.append({
            **target,
            "state": standing,
            "since": instant_text(since),
            "expires_at": instant_text(expires) if expires else None,
            "event_id": current.event_id,
        })
    head = session.get(LedgerHead, 1)
    kind, _, identifier = principal.key.partition(":")
    return {
        "schema_version": SCHEMA_VERSION,
        "conforms_to": CONFORMS_TO,
        "record_id": f"{principal.ref}@{head.seq if head else 0}",
        "generated_at": instant_text(now),
        "pii_principal": {
            "id": principal.ref, "kind": kind, "identifier": identifier,
            "linked": [{"id": v.ref, "kind": v.kind, "identifier": v.key.partition(":")[2]} for v in visitors],
        },
        "pii_controller": _controller(manifest),
        "jurisdiction": manifest.controller.country,
        "legal_framework": "GDPR",
        "privacy_notice": {"url": manifest.policy.url, "version": manifest.policy.last_modified.isoformat()},
        "state": state,
        "events": [_event(e, refs, ledger) for e in events],
        "notices": notices,
        "ledger_head": {"seq": head.seq if head else 0, "hash": head.hash if head else "0" * 64},
    }


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of checking a proof: ``problems`` names each event that does not hold."""

    ok: bool
    events: int
    problems: list[str] = field(default_factory=list)


def _self_consistency(event: dict[str, Any]) -> str | None:
    record_hash = hashlib.sha256(canonical_json(event["record"]).encode()).hexdigest()
    if record_hash != event["record_sha256"]:
        return "its record does not match its hash (altered)"
    entry = event["ledger"]
    if json.loads(entry["payload"]).get("event_sha256") != record_hash:
        return "its ledger entry anchors another record"
    recomputed = event_hash(seq=entry["seq"], recorded_at=entry["recorded_at"], type=entry["type"],
                            actor=entry["actor"], subject=entry["subject"], payload=entry["payload"],
                            prev_hash=entry["prev_hash"])
    if recomputed != entry["hash"]:
        return "its ledger entry does not match its hash (altered)"
    return None


def verify_proof(session: Session, proof: dict[str, Any]) -> ProofCheck:
    """Recompute every hash in ``proof`` and compare each anchor with the ledger in the store, then the chain."""
    problems = []
    events = proof.get("events", [])
    stored = {row.seq: row.hash for row in session.scalars(
        select(LedgerEvent).where(LedgerEvent.seq.in_([e["ledger"]["seq"] for e in events])))} if events else {}
    for event in events:
        problem = _self_consistency(event)
        if problem is None and stored.get(event["ledger"]["seq"]) != event["ledger"]["hash"]:
            problem = "its ledger entry is not the one in the store's ledger"
        if problem:
            problems.append(f"event {event.get('event_id')}: {problem}")
    chain = verify(session)
    if not chain.ok:
        problems.append(chain.describe())
    return ProofCheck(not problems, len(events), problems)
