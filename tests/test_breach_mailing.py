"""Telling the people concerned: one RFC 5322 message each, in their language, through the outbox; recorded once."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from charte.breaches import (
    InvalidRecipient,
    OutboxSender,
    Recipient,
    SubjectCommunicationNotRequired,
    affected_recipients,
    get_breach,
    inform_subjects,
    read_recipients_csv,
    record_breach,
    subject_messages,
)
from charte.breaches import SystemDatabases as Databases
from charte.store import session_factory, transaction
from charte.store.models import LedgerEvent

from .breach_support import at, build_crm_database, example_manifest, facts, with_crm

MANIFEST = example_manifest()


class FailingSender:
    def send(self, message: EmailMessage) -> None:
        raise OSError("disk full")


def read_outbox(folder: Path) -> list[EmailMessage]:
    messages = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def record(store: Engine, **changes: object) -> int:
    with transaction(session_factory(store)) as session:
        return record_breach(session, MANIFEST, facts(**changes), actor="t", clock=lambda: at(1)).id


def test_each_person_gets_the_letter_in_their_language(store: Engine, tmp_path: Path) -> None:
    breach_id = record(store)
    people = [Recipient("anne@example.fr", "fr"), Recipient("bob@example.com", "en"),
              Recipient("ANNE@example.fr", "en")]  # the same address twice: told once
    outbox = tmp_path / "outbox"
    with transaction(session_factory(store)) as session:
        communication = inform_subjects(session, MANIFEST, breach_id, people, OutboxSender(outbox, clock=lambda: at(5)),
                                        actor="admin:dpo", clock=lambda: at(5))
    assert communication.recipients_count == 2 and communication.languages == {"en": 1, "fr": 1}
    messages = {str(m["To"]): m for m in read_outbox(outbox)}
    assert set(messages) == {"anne@example.fr", "bob@example.com"}
    anne, bob = messages["anne@example.fr"], messages["bob@example.com"]
    assert anne["Content-Language"] == "fr" and "Information importante" in str(anne["Subject"])
    assert bob["Content-Language"] == "en" and "Important information" in str(bob["Subject"])
    assert str(anne["From"]) == MANIFEST.dpo.email and anne["Message-ID"] and anne["Date"]
    body = bob.get_body(preferencelist=("plain",))
    assert body is not None and "What this may mean for you" in body.get_content()
    assert bob.get_body(preferencelist=("html",)) is not None
    assert all(oct(p.stat().st_mode)[-3:] == "600" for p in outbox.glob("*.eml"))
    with session_factory(store)() as session:
        breach = get_breach(session, breach_id)
        payload = json.loads(session.scalars(select(LedgerEvent.payload)
                                             .where(LedgerEvent.type == "breach.subjects_informed")).one())
    assert not breach.communication_pending
    assert payload["recipients_count"] == 2 and "anne@example.fr" not in json.dumps(payload)  # no addresses


def test_no_letter_when_article_34_does_not_require_one(store: Engine, tmp_path: Path) -> None:
    breach_id = record(store, art34_exception="a", art34_reasoning="Encrypted with a key that was not exposed.")
    with pytest.raises(SubjectCommunicationNotRequired), transaction(session_factory(store)) as session:
        inform_subjects(session, MANIFEST, breach_id, [Recipient("a@example.com", "fr")],
                        OutboxSender(tmp_path / "outbox"), actor="t", clock=lambda: at(5))
    assert not (tmp_path / "outbox").exists()


def test_a_failed_sending_records_nothing(store: Engine) -> None:
    breach_id = record(store)
    with pytest.raises(OSError), transaction(session_factory(store)) as session:
        inform_subjects(session, MANIFEST, breach_id, [Recipient("a@example.com", "fr")], FailingSender(),
                        actor="t", clock=lambda: at(5))
    with session_factory(store)() as session:
        assert get_breach(session, breach_id).communications == ()


def test_recipients_from_csv() -> None:
    people = read_recipients_csv("\ufeffEmail,Language\nanne@example.fr,fr\nbob@example.com,EN\n"
                                 "carl@example.com,de\n,\nbob@example.com,fr\n", MANIFEST)
    assert people == [Recipient("anne@example.fr", "fr"), Recipient("bob@example.com", "en"),
                      Recipient("carl@example.com", MANIFEST.default_language)]
    with pytest.raises(InvalidRecipient, match="line 3"):
        read_recipients_csv("email\nok@example.com\nnot-an-address\n", MANIFEST)
    with pytest.raises(InvalidRecipient, match="'email' column"):
        read_recipients_csv("address\nx@example.com\n", MANIFEST)


def test_recipients_from_the_affected_collections(store: Engine, tmp_path: Path) -> None:
    url = build_crm_database(tmp_path / "crm.db", customers=5, invoices=3, subscribers=2)
    manifest = with_crm(MANIFEST)
    from charte.breaches import AffectedCollection

    collections = (AffectedCollection("crm", "customers", True), AffectedCollection("crm", "invoices"))
    with transaction(session_factory(store)) as session:
        breach = record_breach(session, manifest, facts(collections=collections), actor="t", clock=lambda: at(1))
    with Databases({"crm": url}) as databases:
        people = affected_recipients(breach, manifest, databases)
    assert sorted(p.email for p in people) == [f"client{i}@example.com" for i in range(5)]
    assert len(subject_messages(breach, manifest, people)) == 5
