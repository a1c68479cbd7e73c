"""The permission check on SQLite and PostgreSQL: every reason, expiry with an injected clock, links, batches."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import cast

import jsonschema
import pytest
from sqlalchemy import Engine, Table, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from charte.consent import (
    AlreadyLinked,
    Choice,
    Collection,
    CollectionMethod,
    Decision,
    DecisionNotApplicable,
    InvalidSubject,
    PermissionReason,
    Scope,
    SubjectKey,
    UnknownCategory,
    UnknownPurpose,
    check_permission,
    check_permissions,
    link_visitor,
    object_to,
    parse_subject,
    record_choices,
    record_cookie_choices,
    unsubscribe,
    withdraw,
)
from charte.consent.notices import Notice
from charte.consent.recording import cookie_choices
from charte.consent.request_meta import truncate_ip, user_agent_family
from charte.consent.subjects import new_consent_id
from charte.ledger import verify
from charte.manifest import Manifest, load_manifest
from charte.store import session_factory, transaction
from charte.store.consent import ConsentEvent, ConsentState, ConsentSubject
from charte.store.models import LedgerEvent
from tests.conftest import EXAMPLE_MANIFEST
from tests.consent_support import Clock, revised_cookies

ALICE = parse_subject("email:alice@example.org")
API = Collection(CollectionMethod.api, "api:test")
BANNER = Collection(CollectionMethod.banner, "visitor")


class FixedRestrictions:
    """A restriction register holding exactly the given subject keys (what the rights feature will plug in)."""

    def __init__(self, *keys: str) -> None:
        self.keys = set(keys)
        self.asked: list[tuple[list[str], str]] = []

    def restricted(self, session: Session, subjects: object, purpose: str) -> set[str]:
        keys = list(subjects)  # type: ignore[call-overload]
        self.asked.append((keys, purpose))
        return self.keys & set(keys)


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(EXAMPLE_MANIFEST)


@pytest.fixture(scope="module")
def revised(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    """The example manifest with another cookie section (Matomo's service changed): another cookie revision."""
    return load_manifest(revised_cookies(EXAMPLE_MANIFEST, tmp_path_factory.mktemp("revised") / "charte.yaml"))


@pytest.fixture
def sessions(store: Engine) -> sessionmaker[Session]:
    return session_factory(store)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as s:
        yield s


def record(sessions: sessionmaker[Session], manifest: Manifest, key: SubjectKey, purpose: str,
           decision: Decision, clock: Clock, collection: Collection = API) -> None:
    with transaction(sessions) as s:
        record_choices(s, manifest, key, [Choice(Scope.purpose, purpose, decision)], collection, clock=clock)


def reason(sessions: sessionmaker[Session], manifest: Manifest, subject: str, purpose: str, clock: Clock,
           **kwargs: object) -> PermissionReason:
    with sessions() as s:
        return check_permission(s, manifest, subject, purpose, clock=clock, **kwargs).reason  # type: ignore[arg-type]


def test_consent_given_missing_refused_withdrawn(sessions: sessionmaker[Session], manifest: Manifest,
                                                 clock: Clock) -> None:
    assert reason(sessions, manifest, "alice@example.org", "newsletter", clock) is PermissionReason.consent_missing
    record(sessions, manifest, ALICE, "newsletter", Decision.refused, clock)
    assert reason(sessions, manifest, str(ALICE), "newsletter", clock) is PermissionReason.consent_refused
    clock.advance(minutes=1)
    record(sessions, manifest, ALICE, "newsletter", Decision.given, clock)
    with sessions() as s:
        answer = check_permission(s, manifest, "Alice@Example.org ", "newsletter", clock=clock)
    assert answer.allowed and answer.reason is PermissionReason.consent_given
    assert answer.subject == "Alice@Example.org " and answer.source == "purpose:newsletter"
    assert answer.decided_at == clock.now and answer.expires_at == clock.now.replace(year=clock.now.year + 3)
    clock.advance(days=2)
    with transaction(sessions) as s:
        event = withdraw(s, manifest, ALICE, "newsletter", API, clock=clock)
        assert event is not None and event.decision == "withdrawn"
    with sessions() as s:
        answer = check_permission(s, manifest, str(ALICE), "newsletter", clock=clock)
    assert not answer.allowed and answer.reason is PermissionReason.consent_withdrawn
    with transaction(sessions) as s:  # nothing left to withdraw: no new event
        assert withdraw(s, manifest, ALICE, "newsletter", API, clock=clock) is None


def test_consent_expires_after_the_manifests_lifetime(sessions: sessionmaker[Session], manifest: Manifest,
                                                      clock: Clock) -> None:
    # newsletter: consent_lifetime P3Y; training has none, so the cookies' P6M (CNIL) applies.
    record(sessions, manifest, ALICE, "newsletter", Decision.given, clock)
    record(sessions, manifest, ALICE, "training", Decision.given, clock)
    given = clock.now
    clock.now = given + timedelta(days=180)
    assert reason(sessions, manifest, str(ALICE), "training", clock) is PermissionReason.consent_given
    clock.now = given.replace(month=given.month + 6) - timedelta(microseconds=1)
    assert reason(sessions, manifest, str(ALICE), "training", clock) is PermissionReason.consent_given
    clock.now = given.replace(month=given.month + 6)
    assert reason(sessions, manifest, str(ALICE), "training", clock) is PermissionReason.consent_expired
    assert reason(sessions, manifest, str(ALICE), "newsletter", clock) is PermissionReason.consent_given
    clock.now = given.replace(year=given.year + 3)
    with sessions() as s:
        answer = check_permission(s, manifest, str(ALICE), "newsletter", clock=clock)
    assert answer.reason is PermissionReason.consent_expired and not answer.allowed
    assert answer.expires_at == given.replace(year=given.year + 3)
    record(sessions, manifest, ALICE, "newsletter", Decision.given, clock)  # asked again: valid again
    assert reason(sessions, manifest, str(ALICE), "newsletter", clock) is PermissionReason.consent_given


def test_objection_restriction_and_bases_that_need_no_consent(sessions: sessionmaker[Session], manifest: Manifest,
                                                              clock: Clock) -> None:
    bob = "customer:C-1042"
    assert reason(sessions, manifest, bob, "customer_analysis", clock) is PermissionReason.legitimate_interest
    assert reason(sessions, manifest, bob, "identification", clock) is PermissionReason.contract
    assert reason(sessions, manifest, bob, "accounting", clock) is PermissionReason.legal_obligation
    with transaction(sessions) as s:
        assert object_to(s, manifest, parse_subject(bob), "customer_analysis", API, clock=clock) is not None
        assert object_to(s, manifest, parse_subject(bob), "customer_analysis", API, clock=clock) is None
    assert reason(sessions, manifest, bob, "customer_analysis", clock) is PermissionReason.objection_recorded
    assert reason(sessions, manifest, bob, "satisfaction_surveys", clock) is PermissionReason.legitimate_interest
    clock.advance(days=1)
    record(sessions, manifest, parse_subject(bob), "customer_analysis", Decision.given, clock)  # objection lifted
    assert reason(sessions, manifest, bob, "customer_analysis", clock) is PermissionReason.legitimate_interest
    # An objection to direct marketing on a consent purpose stops it even after consent.
    record(sessions, manifest, parse_subject(bob), "campaign_offers", Decision.given, clock)
    clock.advance(minutes=1)
    record(sessions, manifest, parse_subject(bob), "campaign_offers", Decision.objected, clock)
    assert reason(sessions, manifest, bob, "campaign_offers", clock) is PermissionReason.objection_recorded

    register = FixedRestrictions(bob)
    for purpose in ("customer_analysis", "identification", "newsletter"):
        assert reason(sessions, manifest, bob, purpose, clock,
                      restrictions=register) is PermissionReason.restriction_in_force
    # Art. 18(2): keeping what the law requires goes on under a restriction.
    assert reason(sessions, manifest, bob, "accounting", clock,
                  restrictions=register) is PermissionReason.legal_obligation
    assert reason(sessions, manifest, "customer:C-7", "identification", clock,
                  restrictions=register) is PermissionReason.contract
    assert register.asked[0] == (["customer:C-1042"], "customer_analysis")


def test_unknown_purpose_and_unreadable_subjects(sessions: sessionmaker[Session], manifest: Manifest,
                                                 clock: Clock) -> None:
    assert reason(sessions, manifest, str(ALICE), "telepathy", clock) is PermissionReason.purpose_unknown
    with sessions() as s:
        with pytest.raises(InvalidSubject):
            check_permission(s, manifest, "not a subject", "newsletter", clock=clock)
        answers = check_permissions(s, manifest, ["alice@example.org", "nobody", "visitor:short"], "newsletter",
                                    clock=clock)
    assert [a.reason for a in answers] == [PermissionReason.consent_missing, PermissionReason.subject_invalid,
                                           PermissionReason.subject_invalid]


def test_decisions_that_do_not_apply_are_refused(sessions: sessionmaker[Session], manifest: Manifest,
                                                 clock: Clock) -> None:
    cases = [
        (Choice(Scope.purpose, "identification", Decision.given), DecisionNotApplicable),
        (Choice(Scope.purpose, "customer_analysis", Decision.refused), DecisionNotApplicable),
        (Choice(Scope.purpose, "nope", Decision.given), UnknownPurpose),
        (Choice(Scope.category, "necessary", Decision.refused), UnknownCategory),
        (Choice(Scope.category, "cookies_of_mars", Decision.given), UnknownCategory),
        (Choice(Scope.category, "analytics", Decision.objected), DecisionNotApplicable),
    ]
    for choice, error in cases:
        with transaction(sessions) as s, pytest.raises(error):
            record_choices(s, manifest, ALICE, [choice], API, clock=clock)
    with sessions() as s:
        assert s.scalar(select(ConsentEvent.id)) is None


def test_cookie_categories_answer_for_their_purposes_and_expire_after_six_months(
        sessions: sessionmaker[Session], manifest: Manifest, clock: Clock) -> None:
    visitor = new_consent_id()
    with transaction(sessions) as s:
        result = record_cookie_choices(s, manifest, visitor, {"analytics": True, "advertising": False}, BANNER,
                                       clock=clock)
    assert result.choices == {"analytics": True, "advertising": False}
    with sessions() as s:
        answer = check_permission(s, manifest, f"visitor:{visitor}", "audience_measurement", clock=clock)
        assert answer.allowed and answer.source == "category:analytics"
        assert check_permission(s, manifest, f"visitor:{visitor}", "targeted_advertising",
                                clock=clock).reason is PermissionReason.consent_refused
    clock.advance(days=190)
    assert reason(sessions, manifest, f"visitor:{visitor}", "audience_measurement",
                  clock) is PermissionReason.consent_expired
    with sessions() as s:
        assert cookie_choices(s, manifest, visitor, clock=clock).choices["analytics"] is False
    with transaction(sessions) as s:  # saying no to what was given is a withdrawal
        record_cookie_choices(s, manifest, visitor, {"analytics": False}, BANNER, clock=clock)
    assert reason(sessions, manifest, f"visitor:{visitor}", "audience_measurement",
                  clock) is PermissionReason.consent_withdrawn


def test_cookie_consent_given_under_an_earlier_cookie_section_no_longer_counts(
        sessions: sessionmaker[Session], manifest: Manifest, revised: Manifest, clock: Clock) -> None:
    from charte.consent import consent_proof, record_schema
    from charte.consent.notices import cookie_revision

    assert cookie_revision(revised) != cookie_revision(manifest)
    visitor, changed_mind = new_consent_id(), new_consent_id()
    decided = clock.now
    with transaction(sessions) as s:
        record_cookie_choices(s, manifest, visitor, {"analytics": True, "advertising": False, "functional": True},
                              BANNER, clock=clock)
        record_cookie_choices(s, manifest, changed_mind, {"analytics": True}, BANNER, clock=clock)
    record(sessions, manifest, ALICE, "audience_measurement", Decision.given, clock)  # a purpose, by a form
    record(sessions, manifest, ALICE, "newsletter", Decision.given, clock)
    clock.advance(minutes=1)
    with transaction(sessions) as s:
        record_cookie_choices(s, manifest, changed_mind, {"analytics": False}, BANNER, clock=clock)
    with sessions() as s:
        assert s.scalars(select(ConsentState.revision).where(ConsentState.scope == "category")).all() == [
            cookie_revision(manifest)] * 4
        assert s.scalars(select(ConsentState.revision).where(ConsentState.scope == "purpose")).all() == [None] * 2

    who = f"visitor:{visitor}"
    with sessions() as s:
        answer = check_permission(s, revised, who, "audience_measurement", clock=clock)
    assert not answer.allowed and answer.reason is PermissionReason.consent_outdated
    assert answer.source == "category:analytics" and answer.decided_at == decided and answer.expires_at is None
    assert reason(sessions, revised, who, "personalisation", clock) is PermissionReason.consent_outdated
    # Refusals and withdrawals still deny as they are; the old revision's own answer has not changed.
    assert reason(sessions, revised, who, "targeted_advertising", clock) is PermissionReason.consent_refused
    assert reason(sessions, revised, f"visitor:{changed_mind}", "audience_measurement",
                  clock) is PermissionReason.consent_withdrawn
    assert reason(sessions, manifest, who, "audience_measurement", clock) is PermissionReason.consent_given
    # Decisions on purposes (forms, API, email links) are not tied to the banner's revision.
    assert reason(sessions, revised, str(ALICE), "audience_measurement", clock) is PermissionReason.consent_given
    assert reason(sessions, revised, str(ALICE), "newsletter", clock) is PermissionReason.consent_given
    asked = [who, f"visitor:{changed_mind}", str(ALICE), "bob@example.org"]
    for purpose in ("audience_measurement", "personalisation", "targeted_advertising"):
        with sessions() as s:
            batch = check_permissions(s, revised, asked, purpose, clock=clock)
            assert batch == [check_permission(s, revised, subject, purpose, clock=clock) for subject in asked]
    assert [a.reason for a in batch] == [PermissionReason.consent_refused, PermissionReason.consent_missing,
                                         PermissionReason.consent_missing, PermissionReason.consent_missing]
    # The banner's sync agrees: nothing is granted under the new revision.
    with sessions() as s:
        assert cookie_choices(s, revised, visitor, clock=clock).choices == {
            "analytics": False, "advertising": False, "functional": False}
        assert cookie_choices(s, manifest, visitor, clock=clock).choices["analytics"] is True

    # Linked to a person, the visitor's choices carry over with the revision they were made under.
    bob = parse_subject("customer:C-77")
    with transaction(sessions) as s:
        assert len(link_visitor(s, revised, visitor, bob, actor="api:shop", clock=clock)) == 3
    assert reason(sessions, revised, str(bob), "audience_measurement", clock) is PermissionReason.consent_outdated
    assert reason(sessions, manifest, str(bob), "audience_measurement", clock) is PermissionReason.consent_given
    with sessions() as s:
        proof = consent_proof(s, revised, bob, clock=clock)
    jsonschema.validate(proof, record_schema())
    assert {x["key"]: x["state"] for x in proof["state"]} == {
        "analytics": "outdated", "functional": "outdated", "advertising": "refused"}
    # Outdated before expired: once the lifetime has passed too, the revision is still the first reason.
    clock.advance(days=200)
    assert reason(sessions, revised, who, "audience_measurement", clock) is PermissionReason.consent_outdated
    assert reason(sessions, manifest, who, "audience_measurement", clock) is PermissionReason.consent_expired
    # Asked again under the new cookie section, the visitor's answer counts.
    with transaction(sessions) as s:
        record_cookie_choices(s, revised, visitor, {"analytics": True, "advertising": False, "functional": False},
                              BANNER, clock=clock)
    assert reason(sessions, revised, str(bob), "audience_measurement", clock) is PermissionReason.consent_given
    assert reason(sessions, revised, who, "personalisation", clock) is PermissionReason.consent_withdrawn
    assert reason(sessions, manifest, who, "audience_measurement", clock) is PermissionReason.consent_outdated


def test_gpc_refuses_advertising_as_a_gpc_event(sessions: sessionmaker[Session], manifest: Manifest,
                                                clock: Clock) -> None:
    visitor = new_consent_id()
    with transaction(sessions) as s:
        result = record_cookie_choices(s, manifest, visitor, {"analytics": True, "advertising": True}, BANNER,
                                       gpc=True, clock=clock)
    assert result.choices == {"analytics": True, "advertising": False}
    with sessions() as s:
        rows = s.execute(select(ConsentEvent.key, ConsentEvent.decision, ConsentEvent.method)
                         .order_by(ConsentEvent.id)).all()
        ledger = s.scalars(select(LedgerEvent.type).order_by(LedgerEvent.seq)).all()
    assert [tuple(r) for r in rows] == [("analytics", "given", "banner"), ("advertising", "refused", "gpc")]
    assert ledger == ["consent.given", "consent.refused"]


def test_linking_a_visitor_carries_its_choices_and_shares_the_subjects(sessions: sessionmaker[Session],
                                                                       manifest: Manifest, clock: Clock) -> None:
    phone, laptop = new_consent_id(), new_consent_id()
    with transaction(sessions) as s:
        record_cookie_choices(s, manifest, phone, {"analytics": True, "functional": False}, BANNER, clock=clock)
    clock.advance(hours=1)
    with transaction(sessions) as s:
        carried = link_visitor(s, manifest, phone, ALICE, actor="api:shop", clock=clock)
        assert [(e.key, e.decision, e.method) for e in carried] == [("analytics", "given", "link"),
                                                                    ("functional", "refused", "link")]
        assert carried[0].decided_at.replace(tzinfo=None) == (clock.now - timedelta(hours=1)).replace(tzinfo=None)
        assert link_visitor(s, manifest, phone, ALICE, actor="api:shop", clock=clock) == []
        with pytest.raises(AlreadyLinked):
            link_visitor(s, manifest, phone, parse_subject("email:eve@example.org"), actor="api:shop", clock=clock)
    assert reason(sessions, manifest, str(ALICE), "audience_measurement", clock) is PermissionReason.consent_given
    # Another device of Alice's: once linked, it answers with Alice's choices, and its choices become hers.
    with transaction(sessions) as s:
        link_visitor(s, manifest, laptop, ALICE, actor="api:shop", clock=clock)
    with sessions() as s:
        assert cookie_choices(s, manifest, laptop, clock=clock).choices == {"analytics": True, "functional": False}
    clock.advance(minutes=5)
    with transaction(sessions) as s:
        record_cookie_choices(s, manifest, laptop, {"analytics": False}, BANNER, clock=clock)
    for subject in (str(ALICE), f"visitor:{phone}", f"visitor:{laptop}"):
        assert reason(sessions, manifest, subject, "audience_measurement", clock) is PermissionReason.consent_withdrawn
    with sessions() as s:
        via = s.scalars(select(ConsentEvent).order_by(ConsentEvent.id.desc())).first()
        assert via is not None and via.via_subject_id is not None
        ledger_types = s.scalars(select(LedgerEvent.type)).all()
    assert "consent.subject_linked" in ledger_types


def test_unsubscribe_withdraws_consent_or_records_an_objection(sessions: sessionmaker[Session], manifest: Manifest,
                                                               clock: Clock) -> None:
    email = Collection(CollectionMethod.email_link, "subject")
    record(sessions, manifest, ALICE, "newsletter", Decision.given, clock)
    with transaction(sessions) as s:
        assert unsubscribe(s, manifest, ALICE, "newsletter", email, clock=clock) is not None
        assert unsubscribe(s, manifest, ALICE, "satisfaction_surveys", email, clock=clock) is not None
        with pytest.raises(DecisionNotApplicable):
            unsubscribe(s, manifest, ALICE, "sales_billing", email, clock=clock)
    assert reason(sessions, manifest, str(ALICE), "newsletter", clock) is PermissionReason.consent_withdrawn
    assert reason(sessions, manifest, str(ALICE), "satisfaction_surveys", clock) is PermissionReason.objection_recorded


def test_every_event_is_in_the_ledger_and_cannot_be_rewritten(sessions: sessionmaker[Session], manifest: Manifest,
                                                              clock: Clock, store: Engine) -> None:
    record(sessions, manifest, ALICE, "newsletter", Decision.given, clock)
    record(sessions, manifest, ALICE, "newsletter", Decision.withdrawn, clock)
    with sessions() as s:
        events = s.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
        subject = s.scalars(select(ConsentSubject)).one()
        for event in events:
            anchor = s.get(LedgerEvent, event.ledger_seq)
            assert anchor is not None and anchor.type == f"consent.{event.decision}"
            assert anchor.subject == subject.ref and "alice" not in anchor.payload  # a pseudonym, no address
            assert event.content_sha256 in anchor.payload
        assert verify(s).ok
    with transaction(sessions) as s:  # a banner decision stores the notice shown
        record_cookie_choices(s, manifest, new_consent_id(), {"analytics": True},
                              Collection(CollectionMethod.banner, "visitor", notice=Notice("banner", {"v": 1})),
                              clock=clock)
    for statement in ("UPDATE consent_events SET decision = 'given'", "DELETE FROM consent_events",
                      "UPDATE consent_notices SET content = '{}'", "DELETE FROM consent_notices"):
        with pytest.raises(DBAPIError, match="append-only"), store.begin() as conn:
            conn.execute(text(statement))


def test_request_metadata_is_minimised() -> None:
    assert truncate_ip("192.0.2.187") == "192.0.2.0/24"
    assert truncate_ip("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert truncate_ip("::ffff:198.51.100.7") == "198.51.100.0/24"
    assert truncate_ip("testclient") is None
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    edge = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
            "Safari/537.36 Edg/126.0.2592.87")
    safari = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
              "Safari/605.1.15")
    assert user_agent_family(firefox) == "Firefox 128"
    assert user_agent_family(edge) == "Edge 126"
    assert user_agent_family(safari) == "Safari 17"
    assert user_agent_family("curl/8.5.0") == "bot"
    assert user_agent_family(None) is None


def test_a_batch_of_mixed_histories_answers_as_single_checks_do(sessions: sessionmaker[Session],
                                                                manifest: Manifest, clock: Clock) -> None:
    rng = random.Random(7)
    people = [parse_subject(f"email:person{n}@example.org") for n in range(60)]
    for person in people:
        for _ in range(rng.randint(0, 3)):
            clock.advance(minutes=rng.randint(1, 60 * 24 * 40))
            decision = rng.choice([Decision.given, Decision.refused, Decision.withdrawn, Decision.objected])
            record(sessions, manifest, person, "training", decision, clock)
    visitors = [new_consent_id() for _ in range(10)]
    for visitor in visitors:
        with transaction(sessions) as s:
            record_cookie_choices(s, manifest, visitor, {"analytics": rng.random() < .5}, BANNER, clock=clock)
    clock.advance(days=100)
    asked = [str(p) for p in people] + [f"visitor:{v}" for v in visitors] + ["ghost@example.org", "???"]
    for purpose in ("training", "audience_measurement", "customer_analysis", "accounting"):
        with sessions() as s:
            batch = check_permissions(s, manifest, asked, purpose, clock=clock)
            single = [check_permissions(s, manifest, [subject], purpose, clock=clock)[0] for subject in asked]
        assert batch == single
    reasons = {a.reason for a in batch}
    assert reasons == {PermissionReason.legal_obligation, PermissionReason.subject_invalid}
    with sessions() as s:
        offers = {a.reason for a in check_permissions(s, manifest, asked, "training", clock=clock)}
    assert {PermissionReason.consent_given, PermissionReason.consent_expired, PermissionReason.consent_missing,
            PermissionReason.objection_recorded} <= offers


def test_a_batch_of_100000_subjects_is_answered_correctly(sessions: sessionmaker[Session], manifest: Manifest,
                                                          clock: Clock, store: Engine) -> None:
    count = 100_000
    decided_at = clock.now - timedelta(days=30)
    old = clock.now - timedelta(days=4 * 365)
    plan: list[tuple[str, str | None]] = []
    for n in range(count):
        plan.append((f"email:reader{n}@example.org", ("given", "refused", "withdrawn", "objected", None)[n % 5]))
    # Bulk-loaded current state (the derived table the check reads); events are exercised by the other tests.
    with store.begin() as conn:
        subject_rows = [{"id": n + 1, "ref": f"s-{n:020x}", "key": key, "kind": "email", "created_at": clock.now}
                        for n, (key, _) in enumerate(plan)]
        for start in range(0, count, 10_000):
            conn.execute(insert(cast(Table, ConsentSubject.__table__)), subject_rows[start:start + 10_000])
        conn.execute(insert(cast(Table, ConsentEvent.__table__)), [{
            "id": 1, "subject_id": 1, "scope": "purpose", "key": "newsletter", "decision": "given",
            "method": "api", "recorded_at": clock.now, "decided_at": clock.now, "period": "2026-01",
            "policy_version": "2020-01-22", "actor": "test", "content_sha256": secrets.token_hex(32),
            "ledger_seq": 0}])
        states = [{"subject_id": n + 1, "scope": "purpose", "key": "newsletter", "decision": decision,
                   "decided_at": old if n % 10 == 5 else decided_at, "event_id": 1}
                  for n, (_, decision) in enumerate(plan) if decision is not None]
        for start in range(0, len(states), 10_000):
            conn.execute(insert(cast(Table, ConsentState.__table__)), states[start:start + 10_000])
    subjects = [key for key, _ in plan]
    with sessions() as s:
        answers = check_permissions(s, manifest, subjects, "newsletter", clock=clock)
    assert len(answers) == count
    expected = {"given": PermissionReason.consent_given, "refused": PermissionReason.consent_refused,
                "withdrawn": PermissionReason.consent_withdrawn, "objected": PermissionReason.objection_recorded,
                None: PermissionReason.consent_missing}
    for n, answer in enumerate(answers):
        decision = plan[n][1]
        want = PermissionReason.consent_expired if decision == "given" and n % 10 == 5 else expected[decision]
        assert answer.subject == subjects[n] and answer.reason is want, (n, answer)
    assert sum(a.allowed for a in answers) == count // 10


def test_the_consent_tables_work_on_mariadb_too(mariadb_url: str, manifest: Manifest, clock: Clock) -> None:
    from charte.store import make_engine, migrate

    engine = make_engine(mariadb_url)
    try:
        migrate(engine)
        maria = session_factory(engine)
        record(maria, manifest, ALICE, "newsletter", Decision.given, clock)
        clock.advance(microseconds=1)  # decisions a microsecond apart are still ordered
        record(maria, manifest, ALICE, "newsletter", Decision.withdrawn, clock)
        with maria() as s:
            answers = check_permissions(s, manifest, [str(ALICE), "bob@example.org"], "newsletter", clock=clock)
            assert verify(s).ok
        assert [a.reason for a in answers] == [PermissionReason.consent_withdrawn, PermissionReason.consent_missing]
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text("DELETE FROM consent_events"))
    finally:
        engine.dispose()


def test_demo_history_is_recorded_once_through_the_real_functions(sessions: sessionmaker[Session],
                                                                  manifest: Manifest, clock: Clock) -> None:
    from charte.consent.demo import seed_demo_consents
    from charte.consent.notices import Notice
    from charte.consent.stats import consent_rates

    banner = Notice("banner", {"demo": True})
    with transaction(sessions) as s:
        seeded = seed_demo_consents(s, manifest, clock=clock, visitors=30, identified=6, banner=banner)
    assert seeded.actions > 36
    with transaction(sessions) as s:
        assert seed_demo_consents(s, manifest, clock=clock, banner=banner).actions == 0
    with sessions() as s:
        assert verify(s).ok
        methods = set(s.scalars(select(ConsentEvent.method)))
        rates = {series.key: series for series in consent_rates(s, clock=clock)}
    assert {"banner", "api", "link"} <= methods
    assert rates["analytics"].now.given + rates["analytics"].now.refused > 0
    assert sum(t.given + t.refused for t in rates["newsletter"].months.values()) > 0


def test_the_revision_of_earlier_cookie_decisions_comes_from_the_banner_they_cite(store_url: str) -> None:
    # A store at 0007 holding decisions recorded before the revision was kept: migration 0008 takes it from the
    # banner notice each event cites (its content holds "rev"); other decisions keep none and count as before.
    from alembic import command
    from sqlalchemy import column as sa_column
    from sqlalchemy import inspect
    from sqlalchemy import table as sa_table

    from charte.store import make_engine, migrate
    from charte.store.db import _alembic_config

    engine = make_engine(store_url)
    try:
        migrate(engine, "0007")
        now = Clock().now
        banner = Notice("banner", {"rev": "0123456789ab", "cats": []})
        form = Notice("preferences", {"rev": "not a banner"})
        # Lightweight tables as of 0007: the dialect quotes "key" (a reserved word on MariaDB).
        subjects = sa_table("consent_subjects", *map(sa_column, ("id", "ref", "key", "kind", "created_at")))
        notices = sa_table("consent_notices", *map(sa_column, ("version", "kind", "content", "first_recorded_at")))
        events = sa_table("consent_events", *map(sa_column, (
            "id", "subject_id", "scope", "key", "decision", "method", "recorded_at", "decided_at", "period",
            "policy_version", "notice_version", "actor", "content_sha256", "ledger_seq")))
        state = sa_table("consent_state", *map(sa_column, (
            "subject_id", "scope", "key", "decision", "decided_at", "event_id", "revision")))
        with engine.begin() as conn:
            conn.execute(insert(subjects), [
                {"id": 1, "ref": "s-1", "key": "visitor:AbCdEfGhIjKlMnOpQrStUv", "kind": "visitor", "created_at": now},
                {"id": 2, "ref": "s-2", "key": "email:alice@example.org", "kind": "email", "created_at": now}])
            conn.execute(insert(notices), [{"version": notice.version, "kind": notice.kind, "content": notice.text,
                                            "first_recorded_at": now} for notice in (banner, form)])
            plan = [(1, "category", "analytics", banner.version), (1, "category", "functional", None),
                    (2, "purpose", "newsletter", banner.version), (2, "category", "analytics", form.version)]
            for n, (subject, scope, key, version) in enumerate(plan, start=1):
                conn.execute(insert(events).values(
                    id=n, subject_id=subject, scope=scope, key=key, decision="given", method="banner",
                    recorded_at=now, decided_at=now, period="2026-01", policy_version="2020-01-22",
                    notice_version=version, actor="visitor", content_sha256=secrets.token_hex(32), ledger_seq=n))
                conn.execute(insert(state).values(subject_id=subject, scope=scope, key=key, decision="given",
                                                  decided_at=now, event_id=n))
        migrate(engine)

        def revisions() -> list[tuple[str, str, str | None]]:
            with engine.connect() as conn:
                rows = conn.execute(select(state.c.scope, state.c.key, state.c.revision).order_by(state.c.event_id))
                return [(scope, key, revision) for scope, key, revision in rows]

        assert revisions() == [("category", "analytics", "0123456789ab"), ("category", "functional", None),
                               ("purpose", "newsletter", None), ("category", "analytics", None)]
        command.downgrade(_alembic_config(engine), "0007")
        assert "revision" not in {c["name"] for c in inspect(engine).get_columns("consent_state")}
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM consent_state")).scalar_one() == 4
        migrate(engine)
        assert revisions()[0] == ("category", "analytics", "0123456789ab")
    finally:
        engine.dispose()


def test_the_consent_migrations_create_exactly_the_models(store: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import MetaData

    from charte.store.models import Base

    tables = {"consent_subjects", "consent_notices", "consent_events", "consent_state"}
    consent = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name in tables:
            table.to_metadata(consent)
    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), consent)
    # Only differences about the consent tables count (other features' tables are theirs).
    ours = [d for d in diff if any(name in repr(d) for name in tables) and d[0] != "remove_table"]
    assert ours == []


def test_the_cookie_revision_is_computed_once_per_cookie_section(manifest: Manifest, revised: Manifest) -> None:
    import gc
    import hashlib

    from charte.consent import notices
    from charte.ledger.chain import canonical_json

    def fresh(m: Manifest) -> str:
        return hashlib.sha256(canonical_json(m.cookies.model_dump(mode="json")).encode()).hexdigest()[:12]

    assert notices.cookie_revision(manifest) == fresh(manifest) != notices.cookie_revision(revised) == fresh(revised)
    same_cookies = manifest.model_copy(update={"default_language": "en"})
    assert same_cookies.cookies is manifest.cookies and id(manifest.cookies) in notices._REVISIONS
    section = manifest.cookies.model_copy(deep=True)
    other = manifest.model_copy(update={"cookies": section})
    assert notices.cookie_revision(other) == fresh(manifest)  # the same content, computed for this section
    key = id(section)
    assert notices._REVISIONS[key][0]() is section
    del other, section
    gc.collect()
    assert key not in notices._REVISIONS  # the entry went with its section
