"""The consent feature as the rights workflow's :class:`~charte.rights.consent_actions.ConsentActions`.

Objections and withdrawals are recorded as consent events (with their own ledger entries) for every identity the
request gives that the consent feature knows how to name: the email, and a customer number.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from charte.consent import (
    Collection,
    CollectionMethod,
    Decision,
    InvalidSubject,
    Scope,
    SubjectKey,
    current_decision,
    object_to,
    parse_subject,
    withdraw,
)
from charte.ledger.chain import Clock
from charte.manifest import Manifest
from charte.rights.consent_actions import ChangeKind, ConsentChange
from charte.rights.identity import Identity
from charte.rights.requests import now_utc
from charte.rights.restriction import CUSTOMER_KINDS


def subject_keys(identity: Identity) -> list[SubjectKey]:
    """The consent feature's keys for an identity: ``email:…`` and ``customer:…`` when they parse."""
    texts = [f"email:{identity.email}"] if identity.email else []
    texts += [f"customer:{value}" for kind, value in sorted(identity.identifiers.items()) if kind in CUSTOMER_KINDS]
    keys = []
    for text in texts:
        try:
            keys.append(parse_subject(text))
        except InvalidSubject:
            continue
    return keys


class ConsentEngineActions:
    """Withdrawals and objections recorded by :mod:`charte.consent`, which the permission check reads."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def _apply(self, session: Session, identity: Identity, purposes: Sequence[str], wanted: ChangeKind, *,
               actor: str, clock: Clock) -> list[ConsentChange]:
        keys = subject_keys(identity)
        # CollectionMethod has no "rights request" value yet; "api" is the nearest (an action through Charte).
        collection = Collection(CollectionMethod.api, actor)
        changes = []
        now = now_utc(clock)
        for purpose in purposes:
            declared = self.manifest.purposes.get(purpose)
            # Objecting to profiling that rests on consent means withdrawing that consent.
            kind: ChangeKind = "withdrawn" if declared is not None and declared.legal_basis == "consent" else wanted
            previous = None
            for key in keys:
                before = current_decision(session, key, Scope.purpose, purpose)
                previous = previous or (before.value if isinstance(before, Decision) else None)
                if kind == "withdrawn":
                    withdraw(session, self.manifest, key, purpose, collection, clock=clock)
                else:
                    object_to(session, self.manifest, key, purpose, collection, clock=clock)
            changes.append(ConsentChange(purpose, kind, now, previous))
        return changes

    def withdraw(self, session: Session, identity: Identity, purposes: Sequence[str], *, actor: str,
                 clock: Clock) -> list[ConsentChange]:
        """Withdraw consent to each purpose for every key of the identity."""
        return self._apply(session, identity, purposes, "withdrawn", actor=actor, clock=clock)

    def object(self, session: Session, identity: Identity, purposes: Sequence[str], *, actor: str,
               clock: Clock) -> list[ConsentChange]:
        """Record an objection to each purpose (a withdrawal for consent-based ones)."""
        return self._apply(session, identity, purposes, "objected", actor=actor, clock=clock)
