"""Proof of consent: a 50-event history validates against the schema kept in the repo and anchors in the ledger."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from charte.consent import (
    Choice,
    Collection,
    CollectionMethod,
    Decision,
    Scope,
    UnknownSubject,
    consent_proof,
    link_visitor,
    parse_subject,
    record_choices,
    record_cookie_choices,
    record_schema,
    verify_proof,
)
from charte.consent.notices import Notice
from charte.consent.request_meta import RequestMeta
from charte.consent.subjects import new_consent_id
from charte.ledger import event_hash
from charte.manifest import Manifest, load_manifest
from charte.store import session_factory, transaction
from charte.store.models import LedgerEvent
from tests.conftest import EXAMPLE_MANIFEST, ROOT
from tests.consent_support import Clock

SCHEMA_PATH = ROOT / "src" / "charte" / "consent" / "schema" / "consent-record.schema.json"
ALICE = parse_subject("email:alice@example.org")


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE_MANIFEST)


@pytest.fixture
def sessions(store: Engine) -> sessionmaker[Session]:
    return session_factory(store)


def fifty_events(sessions: sessionmaker[Session], manifest: Manifest, clock: Clock) -> str:
    """Alice's history: a visitor's banner choices, linked, then 44 decisions of her own (50 events in all)."""
    banner = Notice("banner", {"rev": "test", "texts": {"fr": "Vos choix sur les cookies"}})
    visitor = new_consent_id()
    meta = RequestMeta("192.0.2.0/24", "Firefox 128")
    with transaction(sessions) as s:
        record_cookie_choices(s, manifest, visitor, {"functional": True, "analytics": True, "advertising": False},
                              Collection(CollectionMethod.banner, "visitor", notice=banner, lang="fr", request=meta),
                              clock=clock)
    clock.advance(hours=2)
    with transaction(sessions) as s:
        assert len(link_visitor(s, manifest, visitor, ALICE, actor="api:shop", clock=clock)) == 3
    decisions = [Decision.given, Decision.withdrawn, Decision.given, Decision.objected]
    purposes = ["newsletter", "campaign_offers", "training", "contact_requests"]
    for n in range(44):
        clock.advance(days=3)
        method = (CollectionMethod.api, CollectionMethod.preferences, CollectionMethod.email_link)[n % 3]
        choice = Choice(Scope.purpose, purposes[n % 4], decisions[(n // 4) % 4])
        with transaction(sessions) as s:
            record_choices(s, manifest, ALICE, [choice], Collection(method, "api:crm", notice_version=f"form-{n % 2}",
                                                                    lang="en", request=meta), clock=clock)
    return visitor


def test_a_50_event_proof_validates_and_verifies_against_the_ledger(sessions: sessionmaker[Session],
                                                                    manifest: Manifest) -> None:
    clock = Clock()
    visitor = fifty_events(sessions, manifest, clock)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert record_schema() == schema
    jsonschema.Draft202012Validator.check_schema(schema)
    with sessions() as s:
        proof = consent_proof(s, manifest, ALICE, clock=clock)
        # Through the visitor's consent id, the same record.
        assert consent_proof(s, manifest, parse_subject(f"visitor:{visitor}"), clock=clock)["events"] == \
            proof["events"]
        check = verify_proof(s, proof)
        stored = {row.seq: row for row in s.scalars(select(LedgerEvent))}
    jsonschema.validate(proof, schema, cls=jsonschema.Draft202012Validator)
    assert len(proof["events"]) == 50
    assert check.ok and check.events == 50, check.problems
    assert proof["pii_principal"]["identifier"] == "alice@example.org"
    assert proof["pii_principal"]["linked"][0]["identifier"] == visitor
    assert [e["collection_method"] for e in proof["events"][:6]] == ["banner"] * 3 + ["link"] * 3
    assert {e["record"]["origin_event"] for e in proof["events"][3:6]} == {e["event_id"] for e in proof["events"][:3]}
    assert proof["events"][0]["notice_version"] in proof["notices"]
    # Each anchor is the very ledger entry: same hash, recomputable from the entry's own fields.
    for event in proof["events"]:
        entry = event["ledger"]
        assert stored[entry["seq"]].hash == entry["hash"]
        assert event_hash(**{k: entry[k] for k in ("seq", "recorded_at", "type", "actor", "subject", "payload",
                                                    "prev_hash")}) == entry["hash"]
        assert json.loads(entry["payload"])["event_sha256"] == event["record_sha256"]
    states = {(s["scope"], s["key"]): s["state"] for s in proof["state"]}
    assert states[("category", "analytics")] == "given"
    assert states[("purpose", "contact_requests")] == "given"
    assert {e["event_type"] for e in proof["events"]} == {"given", "refused", "withdrawn", "objected"}


def test_a_tampered_proof_fails_verification(sessions: sessionmaker[Session], manifest: Manifest,
                                             tmp_path: Path) -> None:
    clock = Clock()
    fifty_events(sessions, manifest, clock)
    with sessions() as s:
        proof = consent_proof(s, manifest, ALICE, clock=clock)
        altered_record = copy.deepcopy(proof)
        altered_record["events"][10]["record"]["decision"] = "given"
        altered_entry = copy.deepcopy(proof)
        altered_entry["events"][20]["ledger"]["recorded_at"] = "2020-01-01T00:00:00.000000+00:00"
        swapped = copy.deepcopy(proof)
        swapped["events"][30]["ledger"] = swapped["events"][31]["ledger"]
        checks = [verify_proof(s, p) for p in (altered_record, altered_entry, swapped)]
    assert [c.ok for c in checks] == [False, False, False]
    assert "altered" in checks[0].problems[0] and checks[0].problems[0].startswith("event ")
    assert "ledger entry does not match" in checks[1].problems[0]
    assert "anchors another record" in checks[2].problems[0]


def test_a_proof_of_someone_never_seen_is_refused(sessions: sessionmaker[Session], manifest: Manifest) -> None:
    with sessions() as s, pytest.raises(UnknownSubject):
        consent_proof(s, manifest, parse_subject("email:nobody@example.org"))
