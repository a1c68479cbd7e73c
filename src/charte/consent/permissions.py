"""The permission check: may subject S be processed for purpose P now? With a machine-readable reason.

This is where "processing is limited to its purpose" is enforced at run time. One subject or many at once (a
newsletter send of 100,000 addresses costs a few indexed queries, not one per person).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, bindparam, func, or_, select

from charte.consent.notices import cookie_revision
from charte.consent.restriction import NO_RESTRICTIONS, RestrictionSource
from charte.consent.state import consent_expiry
from charte.consent.subjects import InvalidSubject, SubjectKey, matching, normalise_subject, unique
from charte.consent.vocabulary import Decision, Scope, as_utc
from charte.ledger.chain import Clock, utcnow
from charte.manifest import Manifest, Purpose
from charte.store import Reader
from charte.store.consent import ConsentState, ConsentSubject
from charte.store.driver import HotRead, driver_instant

#: Bases that need no consent and allow no objection: processing follows from the basis itself.
_SELF_SUFFICIENT = frozenset({"contract", "legal_obligation", "vital_interests"})
#: Restriction (Art. 18(2)) still lets processing go on for legal claims and important public interest.
_RESTRICTION_EXEMPT = frozenset({"legal_obligation"})


class PermissionReason(StrEnum):
    """Why processing is allowed or not."""

    consent_given = "consent_given"
    consent_missing = "consent_missing"
    consent_refused = "consent_refused"
    consent_withdrawn = "consent_withdrawn"
    consent_expired = "consent_expired"
    consent_outdated = "consent_outdated"
    objection_recorded = "objection_recorded"
    restriction_in_force = "restriction_in_force"
    purpose_unknown = "purpose_unknown"
    legal_basis_missing = "legal_basis_missing"
    subject_invalid = "subject_invalid"
    contract = "contract"
    legal_obligation = "legal_obligation"
    vital_interests = "vital_interests"
    public_task = "public_task"
    legitimate_interest = "legitimate_interest"


class Permission(NamedTuple):
    """The answer for one subject and purpose; ``source`` names the decision it rests on, if any."""

    subject: str
    purpose: str
    allowed: bool
    reason: PermissionReason
    legal_basis: str | None = None
    decided_at: datetime | None = None
    expires_at: datetime | None = None
    source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "subject": self.subject, "purpose": self.purpose, "allowed": self.allowed, "reason": self.reason.value,
            "legal_basis": self.legal_basis, "source": self.source,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
        }


#: The newest relevant decision of a subject: scope, key, decision, decided_at (UTC), event id, cookie revision.
_Decided = tuple[str, str, str, datetime, int, str | None]


def purpose_categories(manifest: Manifest, purpose: str) -> list[str]:
    """The cookie categories that ask consent for ``purpose`` (a choice on one is a choice on the purpose)."""
    return [c.key for c in manifest.cookies.categories.values() if purpose in c.purposes and not c.required]


def _without_state(purpose: Purpose) -> PermissionReason | None:
    # The answer when no decision matters: None means "look at the decisions".
    basis = purpose.legal_basis
    if basis is None:
        return PermissionReason.legal_basis_missing
    if basis in _SELF_SUFFICIENT:
        return PermissionReason(basis)
    return None


def _answer(subject: str, manifest: Manifest, purpose: Purpose, restricted: bool, newest: _Decided | None,
            now: datetime, revision: str) -> Permission:
    basis = purpose.legal_basis
    key = purpose.key
    if restricted and basis not in _RESTRICTION_EXEMPT:
        return Permission(subject, key, False, PermissionReason.restriction_in_force, basis)
    fixed = _without_state(purpose)
    if fixed is not None:
        return Permission(subject, key, fixed is not PermissionReason.legal_basis_missing, fixed, basis)
    if newest is None:
        if basis == "consent":
            return Permission(subject, key, False, PermissionReason.consent_missing, basis)
        return Permission(subject, key, True, PermissionReason(basis or ""), basis)
    scope, name, decision, at, _, made = newest
    source = f"{scope}:{name}"
    if decision == Decision.objected:
        return Permission(subject, key, False, PermissionReason.objection_recorded, basis, at, None, source)
    if basis != "consent":  # legitimate interest or public task, no objection standing
        return Permission(subject, key, True, PermissionReason(basis or ""), basis, at, None, source)
    if decision == Decision.refused:
        return Permission(subject, key, False, PermissionReason.consent_refused, basis, at, None, source)
    if decision == Decision.withdrawn:
        return Permission(subject, key, False, PermissionReason.consent_withdrawn, basis, at, None, source)
    if made is not None and made != revision and scope == Scope.category:  # not made_under(): inlined, hot path
        # Given to a cookie category under an earlier cookie section: it does not cover the present one (CNIL).
        return Permission(subject, key, False, PermissionReason.consent_outdated, basis, at, None, source)
    expires = consent_expiry(manifest, scope, name, at)
    if now >= expires:
        return Permission(subject, key, False, PermissionReason.consent_expired, basis, at, expires, source)
    return Permission(subject, key, True, PermissionReason.consent_given, basis, at, expires, source)


@lru_cache(maxsize=256)
def _decisions_query(purpose: str, categories: tuple[str, ...]) -> Select[Any]:
    # Built once per purpose: the permission check is the hot path of every integration.
    subjects = ConsentSubject.__table__
    states = ConsentState.__table__
    relevant = and_(states.c.scope == Scope.purpose.value, states.c.key == purpose)
    if categories:
        # Written out rather than IN (...): a purpose has one or two categories, and the text stays final.
        chosen = or_(*(states.c.key == category for category in categories))
        relevant = or_(relevant, and_(states.c.scope == Scope.category.value, chosen))
    # A visitor linked to an identified subject answers with that subject's decisions.
    joined = subjects.join(states, states.c.subject_id == func.coalesce(subjects.c.linked_to, subjects.c.id))
    return (select(subjects.c.key, states.c.scope, states.c.key, states.c.decision, states.c.decided_at,
                   states.c.event_id, states.c.revision).select_from(joined).where(relevant))


@lru_cache(maxsize=256)
def _one_subject_query(purpose: str, categories: tuple[str, ...]) -> HotRead:
    # The single check is the hot path: compiled once per purpose and run straight on the driver.
    return HotRead(_decisions_query(purpose, categories).where(ConsentSubject.__table__.c.key == bindparam("one_key")))


def _newest_by_subject(reader: Reader, keys: Sequence[str], purpose: str,
                       categories: Sequence[str]) -> dict[str, _Decided]:
    batches: Iterable[Iterable[Any]]
    if len(keys) == 1:
        batches = [_one_subject_query(purpose, tuple(categories)).rows(reader, {"one_key": keys[0]})]
    else:
        query = _decisions_query(purpose, tuple(categories))
        batches = (reader.execute(query.where(condition))
                   for condition in matching(reader, ConsentSubject.__table__.c.key, keys))
    newest: dict[str, _Decided] = {}
    for rows in batches:
        for key, scope, name, decision, decided_at, event_id, revision in rows:
            at = driver_instant(decided_at)
            held = newest.get(key)
            if held is None or (at, event_id) > (held[3], held[4]):
                newest[key] = (scope, name, decision, at, event_id, revision)
    return newest


def check_permissions(reader: Reader, manifest: Manifest, subjects: Sequence[str], purpose: str, *,
                      clock: Clock = utcnow, restrictions: RestrictionSource = NO_RESTRICTIONS) -> list[Permission]:
    """One answer per subject, in the order given; an unparsable subject is denied with ``subject_invalid``."""
    keys: list[str | None] = []
    for text in subjects:
        try:
            keys.append(normalise_subject(text))
        except InvalidSubject:
            keys.append(None)
    return _answers(reader, manifest, subjects, keys, purpose, clock, restrictions)


def check_permission(reader: Reader, manifest: Manifest, subject: str | SubjectKey, purpose: str, *,
                     clock: Clock = utcnow, restrictions: RestrictionSource = NO_RESTRICTIONS) -> Permission:
    """Whether ``subject`` may be processed for ``purpose`` now; raises InvalidSubject for an unreadable subject."""
    text = str(subject) if isinstance(subject, SubjectKey) else subject
    return _answers(reader, manifest, [text], [normalise_subject(text)], purpose, clock, restrictions)[0]


def _answers(reader: Reader, manifest: Manifest, subjects: Sequence[str], keys: Sequence[str | None], purpose: str,
             clock: Clock, restrictions: RestrictionSource) -> list[Permission]:
    declared = manifest.purposes.get(purpose)
    if declared is None:
        return [Permission(s, purpose, False, PermissionReason.purpose_unknown) for s in subjects]
    valid = unique(k for k in keys if k is not None)
    restricted = restrictions.restricted(reader, valid, purpose) if valid else set()
    newest: dict[str, _Decided] = {}
    if _without_state(declared) is None and valid:
        newest = _newest_by_subject(reader, valid, purpose, purpose_categories(manifest, purpose))
    now = as_utc(clock())
    revision = cookie_revision(manifest)  # once per call (and memoised per cookie section)
    basis = declared.legal_basis
    answers = []
    for text, key in zip(subjects, keys, strict=True):
        if key is None:
            answers.append(Permission(text, purpose, False, PermissionReason.subject_invalid, basis))
        else:
            answers.append(_answer(text, manifest, declared, key in restricted, newest.get(key), now, revision))
    return answers
