"""The rights store on SQLite and PostgreSQL (and MariaDB): migration, duplicates, leases, reminders, mail queue."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from charte.ledger import verify
from charte.mail import MailDeliveryError, compose, deliver_pending, enqueue
from charte.manifest import Manifest, load_manifest
from charte.rights import (
    ConsentChange,
    Identity,
    LeaseLost,
    RightsPolicy,
    RightsServices,
    RightsSigner,
    Submission,
    TooManyRequests,
    claim,
    close_unverified,
    expired_leases,
    find_request,
    is_restricted,
    pending_execution,
    purge_answers,
    remind_dpo,
    requests_to_run,
    run_request,
    seed_demo_requests,
)
from charte.rights.execution import ExecutionOutcome, ManifestExecutor
from charte.rights.intake import submit_request
from charte.rights.notices import Outgoing
from charte.rights.restriction import RESTRICTIONS, announce_lift, get_restriction, lift, restrict
from charte.rights.verification import confirm_identity, email_verified
from charte.rights.workflow import approve, finish
from charte.store import make_engine, migrate, session_factory, transaction
from charte.store.mail import QueuedMail
from charte.store.models import Base, LedgerEvent
from charte.store.rights import DeadlineReminder, RightsRequest
from tests.conftest import EXAMPLE_MANIFEST

RIGHTS_TABLES = {"rights_requests", "rights_verifications", "rights_identity_documents", "rights_restrictions",
                 "rights_restriction_identities", "rights_intake_attempts", "rights_reminders", "mail_queue"}


class Clock:
    """A clock moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RecordingConsent:
    """ConsentActions that remembers what it was asked (the protocol, without the consent feature)."""

    calls: list[tuple[str, list[str]]] = field(default_factory=list)

    def withdraw(self, session: Session, identity: Identity, purposes: Any, *, actor: str,
                 clock: Any) -> list[ConsentChange]:
        self.calls.append(("withdraw", list(purposes)))
        return [ConsentChange(p, "withdrawn", clock()) for p in purposes]

    def object(self, session: Session, identity: Identity, purposes: Any, *, actor: str,
               clock: Any) -> list[ConsentChange]:
        self.calls.append(("object", list(purposes)))
        return [ConsentChange(p, "objected", clock()) for p in purposes]


@dataclass
class FlakySender:
    """A mail sender that fails a number of times, then records what it sends."""

    failures: int = 0
    sent: list[EmailMessage] = field(default_factory=list)

    def send(self, message: EmailMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise MailDeliveryError("smtp down")
        self.sent.append(message)


@pytest.fixture
def manifest() -> Manifest:
    return load_manifest(EXAMPLE_MANIFEST)


@pytest.fixture
def sessions(store: Engine) -> sessionmaker[Session]:
    return session_factory(store)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def services(manifest: Manifest, clock: Clock, **overrides: Any) -> RightsServices:
    values: dict[str, Any] = {"manifest": manifest, "policy": RightsPolicy(),
                              "signer": RightsSigner(secrets.token_urlsafe(40)), "base_url": "http://test",
                              "mail_from": "dpo@equasens.com", "executor": ManifestExecutor(),
                              "consent": RecordingConsent(), "clock": clock}
    return RightsServices(**{**values, **overrides})


def verified_request(session: Session, manifest: Manifest, clock: Clock, kind: str = "objection",
                     address: str = "a@example.org") -> RightsRequest:
    policy = RightsPolicy()
    request = submit_request(session, manifest, Submission(kind, email=address), address=None, policy=policy,
                             clock=clock).request
    email_verified(session, request, method="email_code", policy=policy, clock=clock)
    if request.state == "identity_review":
        confirm_identity(session, request, actor="dpo", note="account matches", policy=policy, clock=clock)
    return request


def test_migration_creates_exactly_the_models(store: Engine) -> None:
    rights_metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name in RIGHTS_TABLES:
            table.to_metadata(rights_metadata)
    assert {t.name for t in rights_metadata.sorted_tables} == RIGHTS_TABLES
    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), rights_metadata)
    # Only differences about the rights tables count (other features' tables are theirs).
    ours = [d for d in diff if any(name in repr(d) for name in RIGHTS_TABLES) and d[0] != "remove_table"]
    assert ours == []


def test_duplicates_are_one_open_request_and_closing_frees_the_key(sessions: sessionmaker[Session],
                                                                   manifest: Manifest, clock: Clock) -> None:
    policy = RightsPolicy()
    with transaction(sessions) as session:
        first = submit_request(session, manifest, Submission("access", email="A@Example.org"), address="10.0.0.1",
                               policy=policy, clock=clock)
        again = submit_request(session, manifest, Submission("access", email="a@example.org"), address="10.0.0.2",
                               policy=policy, clock=clock)
        other = submit_request(session, manifest, Submission("erasure", email="a@example.org"), address=None,
                               policy=policy, clock=clock)
        assert first.created and not again.created and other.created
        assert again.request.id == first.request.id and again.challenge is not None
        ref = first.request.reference
    # The unique key holds in the database itself, whatever a concurrent process checked before inserting.
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        row = find_request(session, ref)
        session.add(RightsRequest(**{c.name: getattr(row, c.name) for c in RightsRequest.__table__.columns
                                     if c.name not in ("id", "reference")}, reference="R-DUPL-ICAT"))
        session.flush()
    with transaction(sessions) as session:
        from charte.rights.workflow import cancel

        cancel(session, find_request(session, ref), actor="subject", reason="withdrawn", policy=policy, clock=clock)
    with transaction(sessions) as session:
        new = submit_request(session, manifest, Submission("access", email="a@example.org"), address=None,
                             policy=policy, clock=clock)
        assert new.created and new.request.reference != ref


def test_submissions_are_limited_in_the_store_across_sessions(sessions: sessionmaker[Session], manifest: Manifest,
                                                              clock: Clock) -> None:
    policy = RightsPolicy(intake_per_email=2, intake_per_address=100)
    for kind in ("access", "erasure"):
        with transaction(sessions) as session:
            submit_request(session, manifest, Submission(kind, email="b@example.org"), address="1.2.3.4",
                           policy=policy, clock=clock)
    with pytest.raises(TooManyRequests) as refused, transaction(sessions) as session:
        submit_request(session, manifest, Submission("portability", email="b@example.org"), address="1.2.3.5",
                       policy=policy, clock=clock)
    assert 0 < refused.value.retry_after <= 24 * 3600 + 1
    clock.advance(hours=25)
    with transaction(sessions) as session:
        assert submit_request(session, manifest, Submission("portability", email="b@example.org"),
                              address="1.2.3.5", policy=policy, clock=clock).created


def test_execution_lease_survives_a_killed_worker(sessions: sessionmaker[Session], manifest: Manifest,
                                                  clock: Clock) -> None:
    policy = RightsPolicy()
    with transaction(sessions) as session:
        request = verified_request(session, manifest, clock)
        approve(session, request, actor="dpo", policy=policy, clock=clock)
        request_id, ref = request.id, request.reference
    with transaction(sessions) as session:
        assert [r.reference for r in pending_execution(session, policy=policy)] == [ref]
        assert claim(session, request_id, "worker-1", clock(), lease=timedelta(minutes=15))
    with transaction(sessions) as session:
        assert not claim(session, request_id, "worker-2", clock())  # still held
        assert expired_leases(session, clock()) == []
    clock.advance(minutes=16)  # worker-1 was killed: its lease runs out
    with transaction(sessions) as session:
        assert [r.reference for r in expired_leases(session, clock())] == [ref]
        assert claim(session, request_id, "worker-2", clock())
    with pytest.raises(LeaseLost), transaction(sessions) as session:
        finish(session, find_request(session, ref), "worker-1", answer={}, summary={}, policy=policy, clock=clock)
    with transaction(sessions) as session:
        finish(session, find_request(session, ref), "worker-2", answer={"letter": {}}, summary={}, policy=policy,
               clock=clock)
        assert find_request(session, ref).state == "completed"
    with sessions() as session:
        types = [e.type for e in session.scalars(select(LedgerEvent).order_by(LedgerEvent.seq))]
        assert types.count("request.execution_started") == 2 and types[-1] == "request.completed"
        assert verify(session).ok


def test_requests_to_run_are_the_approved_then_the_expired_leases(sessions: sessionmaker[Session],
                                                                   manifest: Manifest, clock: Clock) -> None:
    policy = RightsPolicy()
    with transaction(sessions) as session:
        first = verified_request(session, manifest, clock, address="first@example.org")
        second = verified_request(session, manifest, clock, address="second@example.org")
        unapproved = verified_request(session, manifest, clock, address="third@example.org")
        for request in (first, second):
            approve(session, request, actor="dpo", policy=policy, clock=clock)
        first_id, first_ref, second_ref = first.id, first.reference, second.reference
        assert unapproved.state == "verified"
    with transaction(sessions) as session:
        assert claim(session, first_id, "worker-1", clock(), lease=timedelta(minutes=15))
    with sessions() as session:
        assert requests_to_run(session, policy=policy, clock=clock) == [second_ref]
    clock.advance(minutes=16)  # worker-1 died: its request is run again, after the approved ones
    with sessions() as session:
        assert requests_to_run(session, policy=policy, clock=clock) == [second_ref, first_ref]
        assert requests_to_run(session, policy=RightsPolicy(max_execution_attempts=0), clock=clock) == [first_ref]


class Exploding:
    """An executor whose systems are down."""

    def execute(self, *args: Any, **kwargs: Any) -> ExecutionOutcome:
        raise ConnectionError("crm unreachable")


def test_run_request_completes_or_records_the_failure_for_a_retry(sessions: sessionmaker[Session],
                                                                   manifest: Manifest, clock: Clock) -> None:
    consent = RecordingConsent()
    svc = services(manifest, clock, consent=consent)
    with transaction(sessions) as session:
        objection = verified_request(session, manifest, clock)
        approve(session, objection, actor="dpo", policy=svc.policy, clock=clock)
        erasure = verified_request(session, manifest, clock, "erasure", "e@example.org")
        approve(session, erasure, actor="dpo", policy=svc.policy, clock=clock)
    assert run_request(sessions, svc, objection.reference, worker="w") == "completed"
    assert consent.calls and consent.calls[0][0] == "object"
    failing = services(manifest, clock, executor=Exploding())
    assert run_request(sessions, failing, erasure.reference, worker="w") == "approved"
    with sessions() as session:
        stored = find_request(session, erasure.reference)
        assert stored.last_error == "ConnectionError: crm unreachable" and stored.execution_attempts == 1
        assert session.scalar(select(func.count()).select_from(QueuedMail)
                              .where(QueuedMail.reference == objection.reference)) == 1  # the letter
    assert run_request(sessions, svc, erasure.reference, worker="w") == "completed"


def test_the_dpo_reminder_is_sent_once_per_threshold(sessions: sessionmaker[Session], manifest: Manifest,
                                                     clock: Clock) -> None:
    policy = RightsPolicy()
    out = Outgoing(manifest, RightsSigner(secrets.token_urlsafe(40)), "http://test", "dpo@equasens.com", clock)
    with transaction(sessions) as session:
        verified_request(session, manifest, clock)                   # due 2 April 2026
        submit_request(session, manifest, Submission("access", email="waiting@example.org"), address=None,
                       policy=policy, clock=clock)                   # waiting for the subject: no reminder
    clock.advance(days=26)  # 28 March: 5 days left
    with transaction(sessions) as session:
        first = remind_dpo(session, out, policy=policy, clock=clock)
        assert [(line.days_left, line.reference[:2]) for line in first] == [(5, "R-")]
    with transaction(sessions) as session:
        assert remind_dpo(session, out, policy=policy, clock=clock) == []
    clock.advance(days=4)  # 1 April: 1 day left
    with transaction(sessions) as session:
        assert len(remind_dpo(session, out, policy=policy, clock=clock)) == 1
    clock.advance(days=2)
    with transaction(sessions) as session:
        late = remind_dpo(session, out, policy=policy, clock=clock)
        assert late[0].days_left < 0
    with sessions() as session:
        kinds = sorted(session.scalars(select(DeadlineReminder.kind)))
        assert kinds == ["due_in_2", "due_in_7", "overdue"]
        digests = session.scalars(select(QueuedMail).where(QueuedMail.purpose == "rights.dpo_reminder")).all()
        assert len(digests) == 3


def test_restriction_register_answers_the_permission_hook(sessions: sessionmaker[Session], clock: Clock) -> None:
    identity = Identity("r@example.org", {"user.unique_id": "C-42"})
    with transaction(sessions) as session:
        restriction = restrict(session, identity, request=None, reason="accuracy contested", actor="dpo",
                               clock=clock)
        assert restrict(session, identity, request=None, reason=None, actor="dpo", clock=clock).id == restriction.id
    with sessions() as session:
        assert is_restricted(session, "R@example.org") and is_restricted(session, "customer:C-42")
        assert is_restricted(session, "user.unique_id:C-42") and not is_restricted(session, "customer:C-43")
        assert RESTRICTIONS.restricted(session, ["email:r@example.org", "email:x@example.org"], "newsletter") \
            == {"email:r@example.org"}
    with transaction(sessions) as session:
        current = get_restriction(session, restriction.id)
        announce_lift(session, current, reason="accuracy verified", not_before=clock() + timedelta(days=7),
                      actor="dpo", clock=clock)
    clock.advance(days=7, seconds=1)
    with transaction(sessions) as session:
        lift(session, get_restriction(session, restriction.id), actor="dpo", clock=clock)
    with sessions() as session:
        assert not is_restricted(session, "r@example.org")


def test_mail_queue_retries_then_delivers_and_keeps_only_headers(sessions: sessionmaker[Session],
                                                                 clock: Clock) -> None:
    with transaction(sessions) as session:
        message = compose("rights/signin", "en", {"reference": "R-1", "right": "access", "controller": "Equasens",
                                                  "dpo": "dpo@equasens.com", "link": "http://x", "hours": 1},
                          to="s@example.org", sender="dpo@equasens.com", clock=clock)
        enqueue(session, message, purpose="rights.signin", reference="R-1", clock=clock)
    sender = FlakySender(failures=1)
    report = deliver_pending(sessions, sender, clock=clock)
    assert report.retrying and not sender.sent
    assert deliver_pending(sessions, sender, clock=clock).sent == []  # backing off
    clock.advance(minutes=2)
    assert len(deliver_pending(sessions, sender, clock=clock).sent) == 1
    assert deliver_pending(sessions, sender, clock=clock).sent == []  # sent once only
    with sessions() as session:
        queued = session.scalars(select(QueuedMail)).one()
        assert queued.status == "sent" and "http://x" not in queued.raw and "Subject:" in queued.raw
        assert session.scalars(select(LedgerEvent).where(LedgerEvent.type == "mail.delivered")).one()


def test_unverified_requests_close_and_copies_of_data_are_purged(sessions: sessionmaker[Session],
                                                                 manifest: Manifest, clock: Clock) -> None:
    policy = RightsPolicy()
    with transaction(sessions) as session:
        stale = submit_request(session, manifest, Submission("access", email="z@example.org"), address=None,
                               policy=policy, clock=clock).request
        done = verified_request(session, manifest, clock, "erasure", "y@example.org")
        approve(session, done, actor="dpo", policy=policy, clock=clock)
        assert claim(session, done.id, "w", clock())
        session.refresh(done)
        finish(session, done, "w", answer={"letter": {"x": 1}, "report": {"data": 1}, "summary": {}}, summary={},
               policy=policy, clock=clock)
    clock.advance(days=31)
    with transaction(sessions) as session:
        assert close_unverified(session, policy=policy, clock=clock) == [stale.reference]
        assert purge_answers(session, clock=clock) == [done.reference]
    with sessions() as session:
        assert find_request(session, stale.reference).state == "cancelled"
        assert set(find_request(session, done.reference).answer or {}) == {"letter", "summary"}


def test_demo_requests_are_seeded_once(sessions: sessionmaker[Session], manifest: Manifest, clock: Clock) -> None:
    with transaction(sessions) as session:
        created = seed_demo_requests(session, manifest, clock=clock, consent=RecordingConsent())
    assert len(created) == 8
    with transaction(sessions) as session:
        assert seed_demo_requests(session, manifest, clock=clock, consent=RecordingConsent()) == []
    with sessions() as session:
        states = {r.request_type + ":" + r.state for r in session.scalars(select(RightsRequest))}
        assert {"access:completed", "objection:completed", "portability:denied", "erasure:verified",
                "restriction:awaiting_verification"} <= states
        assert verify(session).ok


@pytest.fixture
def mariadb_store(mariadb_url: str) -> Iterator[Engine]:
    engine = make_engine(mariadb_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_the_workflow_runs_on_mariadb(mariadb_store: Engine, manifest: Manifest, clock: Clock) -> None:
    sessions = session_factory(mariadb_store)
    svc = services(manifest, clock)
    with transaction(sessions) as session:
        request = verified_request(session, manifest, clock)
        approve(session, request, actor="dpo", policy=svc.policy, clock=clock)
        again = submit_request(session, manifest, Submission("objection", email="a@example.org"), address=None,
                               policy=svc.policy, clock=clock)
        assert not again.created
    assert run_request(sessions, svc, request.reference, worker="w") == "completed"
    with sessions() as session:
        assert verify(session).ok


def test_codes_are_stored_under_a_keyed_hash_only(sessions: sessionmaker[Session], manifest: Manifest,
                                                  clock: Clock) -> None:
    import hashlib

    from charte.rights.verification import WrongCode, check_code
    from charte.store.rights import VerificationChallenge

    policy = RightsPolicy()
    with transaction(sessions) as session:
        result = submit_request(session, manifest, Submission("objection", email="k@example.org"), address=None,
                                policy=policy, clock=clock)
        assert result.challenge is not None
        code = result.challenge.code
        stored = session.scalars(select(VerificationChallenge)).one()
        assert code not in stored.code_hash and stored.code_hash != hashlib.sha256(code.encode()).hexdigest()
        # The same code under another workspace's key does not verify.
        with pytest.raises(WrongCode):
            check_code(session, result.request, code, purpose="verify", policy=RightsPolicy(), clock=clock)
        check_code(session, result.request, code, purpose="verify", policy=policy, clock=clock)
