"""Who decides: identified subjects (email, customer id) and anonymous visitors (a random consent id)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import ARRAY, ColumnElement, String, any_, bindparam, func, select
from sqlalchemy.orm import Session

from charte.ledger.chain import Clock, utcnow
from charte.store import Reader, dialect_name
from charte.store.consent import ConsentSubject

_K = TypeVar("_K")

#: Keys looked up per query; stays under SQLite's and PostgreSQL's bound-parameter limits.
LOOKUP_CHUNK = 5000

_CONSENT_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
_CUSTOMER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$")


class SubjectKind(StrEnum):
    """The kind of identifier a subject is known by."""

    email = "email"
    customer = "customer"
    visitor = "visitor"


class InvalidSubject(ValueError):
    """The text is not a subject identifier Charte understands."""


class AlreadyLinked(ValueError):
    """The visitor is already linked to another identified subject."""


@dataclass(frozen=True)
class SubjectKey:
    """A normalised subject identifier, written ``kind:value`` (``email:alice@example.com``)."""

    kind: SubjectKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"

    @property
    def identified(self) -> bool:
        """Whether this names a person rather than an anonymous browser."""
        return self.kind is not SubjectKind.visitor


def normalise_subject(text: str) -> str:
    """The normalised ``kind:value`` text of a subject identifier; :class:`InvalidSubject` when unreadable.

    Written for speed (a batch check normalises 100,000 of these): no objects, one match per identifier.
    """
    raw = text.strip()
    kind, sep, value = raw.partition(":")
    if kind == "email" and sep:
        value = value.strip().lower()
    elif kind == "customer" and sep:
        value = value.strip()
        if _CUSTOMER.match(value):
            return "customer:" + value
        raise InvalidSubject(f"{value!r} is not a customer id (letters, digits and . _ : / -, at most 200)")
    elif kind == "visitor" and sep:
        value = value.strip()
        if _CONSENT_ID.match(value):
            return "visitor:" + value
        raise InvalidSubject(f"{value!r} is not a consent id (22 characters, letters, digits, - and _)")
    elif "@" in raw:
        value = raw.lower()
    else:
        raise InvalidSubject(f"{text!r} is not a subject: write email:ADDRESS, customer:ID or visitor:CONSENT_ID")
    if len(value) <= 320 and _EMAIL.match(value):
        return "email:" + value
    raise InvalidSubject(f"{value!r} is not an email address")


def parse_subject(text: str) -> SubjectKey:
    """``email:…``, ``customer:…``, ``visitor:<consent id>``, or a bare email address; else :class:`InvalidSubject`."""
    kind, _, value = normalise_subject(text).partition(":")
    return SubjectKey(SubjectKind(kind), value)


def visitor_key(consent_id: str) -> SubjectKey:
    """The subject key of an anonymous visitor's consent id."""
    return parse_subject(f"visitor:{consent_id}")


def new_consent_id() -> str:
    """A fresh random consent id, as the banner makes them (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def find_subject(session: Session, key: SubjectKey) -> ConsentSubject | None:
    """The subject known by ``key``, if any."""
    return session.scalars(select(ConsentSubject).where(ConsentSubject.key == str(key))).first()


def subject_by_ref(session: Session, ref: str) -> ConsentSubject | None:
    """The subject whose pseudonymous reference is ``ref``, if any."""
    return session.scalars(select(ConsentSubject).where(ConsentSubject.ref == ref)).first()


def ensure_subject(session: Session, key: SubjectKey, *, clock: Clock = utcnow) -> ConsentSubject:
    """The subject known by ``key``, created on first use with a random pseudonymous reference."""
    found = find_subject(session, key)
    if found is not None:
        return found
    subject = ConsentSubject(ref="s-" + secrets.token_hex(10), key=str(key), kind=key.kind.value,
                             created_at=clock())
    session.add(subject)
    session.flush()
    return subject


def effective_subject(session: Session, subject: ConsentSubject) -> ConsentSubject:
    """The subject whose choices apply: the identified subject a visitor is linked to, else itself."""
    if subject.linked_to is None:
        return subject
    target = session.get(ConsentSubject, subject.linked_to)
    if target is None:  # a foreign key makes this impossible; say so plainly if it ever happens
        raise LookupError(f"subject {subject.ref} is linked to a missing subject")
    return target


def linked_visitors(session: Session, subject: ConsentSubject) -> list[ConsentSubject]:
    """The anonymous visitors linked to an identified subject, oldest first."""
    query = select(ConsentSubject).where(ConsentSubject.linked_to == subject.id).order_by(ConsentSubject.id)
    return list(session.scalars(query))


def matching(reader: Reader, column: ColumnElement[str], values: Sequence[str]) -> Iterator[ColumnElement[bool]]:
    """Conditions ``column IN values`` for a long list: one bound array where the database has arrays.

    PostgreSQL takes the whole list as one array parameter and SQLite as one JSON text (``json_each``): no
    100,000 bound parameters to compile. Other databases get chunks of :data:`LOOKUP_CHUNK`.
    """
    dialect = dialect_name(reader)
    if dialect == "postgresql":
        yield column == any_(bindparam("many_values", list(values), type_=ARRAY(String)))
    elif dialect == "sqlite":
        listed = func.json_each(bindparam("many_values", json.dumps(list(values)))).table_valued("value")
        yield column.in_(select(listed.c.value))
    else:
        for start in range(0, len(values), LOOKUP_CHUNK):
            yield column.in_(list(values[start:start + LOOKUP_CHUNK]))


def unique(keys: Iterable[_K]) -> list[_K]:
    """Keys without repeats, in first-seen order."""
    return list(dict.fromkeys(keys))
