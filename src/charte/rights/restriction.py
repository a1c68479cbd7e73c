"""Restriction of processing (Art. 18): while restricted, only storage is allowed; lifting needs a prior notice.

The permission check of the consent feature asks :func:`is_restricted` and, when true, denies every purpose but
storage (Art. 18(2) exceptions — the subject's consent, legal claims, protecting another person, important public
interest — are decisions for the DPO, not for an automatic check).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.ledger import append
from charte.ledger.chain import Clock
from charte.rights.identity import Identity, InvalidIdentity, normalise_email, subject_ref
from charte.rights.requests import as_utc, now_utc
from charte.store import Reader
from charte.store.driver import HotRead
from charte.store.rights import Restriction, RestrictionIdentity, RightsRequest

#: The only processing a restriction leaves allowed.
STORAGE = "storage"
#: Identifier kinds that name a customer: the consent feature writes them ``customer:<id>``.
CUSTOMER_KINDS = ("customer", "customer_id", "user.unique_id")


class RestrictionError(Exception):
    """Base of refused restriction changes."""


class UnknownRestriction(RestrictionError, LookupError):
    """No restriction has this id."""


class LiftNotAnnounced(RestrictionError):
    """The subject was not told before the lifting (Art. 18(3)): announce it first."""


class LiftTooEarly(RestrictionError):
    """The notice period announced to the subject has not ended yet."""

    def __init__(self, not_before: datetime) -> None:
        super().__init__(f"the restriction may be lifted from {not_before.isoformat()} only")
        self.not_before = not_before


def _normalise(kind: str, value: str) -> tuple[str, str]:
    if kind == "email":
        try:
            return kind, normalise_email(value)
        except InvalidIdentity:
            return kind, value.strip().lower()
    return kind, value.strip()


def _subject_pairs(subject: str) -> tuple[str | None, str]:
    # "email:a@b", "user.unique_id:C-1", a bare address, or a bare identifier value.
    text = subject.strip()
    if "@" in text and not text.startswith("email:") and ":" not in text.split("@")[0]:
        return _normalise("email", text)
    kind, sep, value = text.partition(":")
    if sep and kind and value:
        return _normalise(kind, value)
    return None, text


#: Read by every permission check, hence a hot read.
_OPEN_RESTRICTIONS = HotRead(select(RestrictionIdentity.kind, RestrictionIdentity.value)
                             .join(Restriction, Restriction.id == RestrictionIdentity.restriction_id)
                             .where(Restriction.lifted_at.is_(None)))


def open_restrictions(reader: Reader) -> dict[str, set[str]]:
    """Identity values under an open restriction, each with its identity kinds (few: one per request)."""
    rows = _OPEN_RESTRICTIONS.rows(reader)
    index: dict[str, set[str]] = {}
    for kind, value in rows:
        index.setdefault(value, set()).add(kind)
    return index


def _matches(subject: str, index: dict[str, set[str]]) -> bool:
    kind, value = _subject_pairs(subject)
    kinds = index.get(value) if value else None
    if not kinds:
        return False
    if kind is None:
        return True
    if kind in CUSTOMER_KINDS:
        return bool(kinds & set(CUSTOMER_KINDS))
    return kind in kinds


def is_restricted(session: Session, subject: str) -> bool:
    """Whether processing of ``subject`` (an email, ``kind:value``, or an identifier value) is restricted now."""
    return _matches(subject, open_restrictions(session))


class RestrictionRegister:
    """The register as the consent feature's permission check reads it (its ``RestrictionSource``)."""

    def restricted(self, reader: Reader, subjects: Collection[str], purpose: str) -> set[str]:
        """Those of ``subjects`` restricted now: for every purpose but storage (one query for any batch)."""
        if purpose_allowed_while_restricted(purpose):
            return set()
        index = open_restrictions(reader)
        return {subject for subject in subjects if _matches(subject, index)} if index else set()


#: The register to pass as ``restrictions=`` to the permission check.
RESTRICTIONS = RestrictionRegister()


def purpose_allowed_while_restricted(operation: str) -> bool:
    """Whether an operation may run on a restricted subject: storage only."""
    return operation == STORAGE


def restrict(session: Session, identity: Identity, *, request: RightsRequest | None, reason: str | None,
             actor: str, clock: Clock) -> Restriction:
    """Restrict processing for every identity given (email and identifiers); return the open restriction."""
    ref = request.subject_ref if request is not None else subject_ref(identity)
    existing = session.scalars(select(Restriction).where(Restriction.subject_ref == ref,
                                                         Restriction.lifted_at.is_(None))).first()
    if existing is not None:
        return existing
    restriction = Restriction(request_id=request.id if request else None, subject_ref=ref, reason=reason,
                              restricted_at=now_utc(clock))
    session.add(restriction)
    session.flush()
    for kind, value in identity.pairs():
        norm_kind, norm_value = _normalise(kind, value)
        session.add(RestrictionIdentity(restriction_id=restriction.id, kind=norm_kind, value=norm_value))
    session.flush()
    append(session, "restriction.applied", {"restriction": restriction.id,
                                            "reference": request.reference if request else None,
                                            "identities": [kind for kind, _ in identity.pairs()]},
           actor=actor, subject=ref, clock=clock)
    return restriction


def get_restriction(session: Session, restriction_id: int) -> Restriction:
    """The restriction with this id."""
    found = session.get(Restriction, restriction_id)
    if found is None:
        raise UnknownRestriction(f"no restriction {restriction_id}")
    return found


def restriction_for_request(session: Session, request: RightsRequest) -> Restriction | None:
    """The restriction a request applied, if any."""
    return session.scalars(select(Restriction).where(Restriction.request_id == request.id)
                           .order_by(Restriction.id.desc())).first()


def active_restrictions(session: Session) -> list[Restriction]:
    """Restrictions in force, oldest first."""
    return list(session.scalars(select(Restriction).where(Restriction.lifted_at.is_(None))
                                .order_by(Restriction.restricted_at)))


def announce_lift(session: Session, restriction: Restriction, *, reason: str, not_before: datetime, actor: str,
                  clock: Clock) -> Restriction:
    """Record the notice to the subject that the restriction will be lifted, and from when (Art. 18(3))."""
    if restriction.lifted_at is not None:
        raise RestrictionError("this restriction has already been lifted")
    if not reason.strip():
        raise RestrictionError("the notice must say why the restriction will be lifted")
    now = now_utc(clock)
    restriction.lift_announced_at = now
    restriction.lift_not_before = max(not_before, now)
    restriction.lift_reason = reason.strip()[:2000]
    append(session, "restriction.lift_announced", {"restriction": restriction.id, "reason": restriction.lift_reason,
                                                   "not_before": restriction.lift_not_before.isoformat()},
           actor=actor, subject=restriction.subject_ref, clock=clock)
    return restriction


def lift(session: Session, restriction: Restriction, *, actor: str, clock: Clock) -> Restriction:
    """Lift the restriction, only after a notice and once its period has ended."""
    if restriction.lifted_at is not None:
        return restriction
    if restriction.lift_announced_at is None or restriction.lift_not_before is None:
        raise LiftNotAnnounced("tell the subject before lifting the restriction (Art. 18(3))")
    now = now_utc(clock)
    if now < as_utc(restriction.lift_not_before):
        raise LiftTooEarly(as_utc(restriction.lift_not_before))
    restriction.lifted_at = now
    restriction.lifted_by = actor
    append(session, "restriction.lifted", {"restriction": restriction.id}, actor=actor,
           subject=restriction.subject_ref, clock=clock)
    return restriction
