"""The preferences page's rules: which purposes an identified person manages there, and what each button does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from charte.consent.notices import Notice
from charte.consent.permissions import Permission, check_permissions, purpose_categories
from charte.consent.recording import (
    OBJECTABLE_BASES,
    Choice,
    Collection,
    DecisionNotApplicable,
    UnknownPurpose,
    current_decision,
    object_to,
    record_choices,
    withdraw,
)
from charte.consent.restriction import NO_RESTRICTIONS, RestrictionSource
from charte.consent.subjects import SubjectKey
from charte.consent.vocabulary import Decision, Scope
from charte.ledger.chain import Clock, utcnow
from charte.manifest import Manifest, tr


class PreferenceAction(StrEnum):
    """A button of the preferences page."""

    withdraw = "withdraw"
    give = "give"
    object = "object"
    lift = "lift"


@dataclass(frozen=True)
class PurposeStanding:
    """One purpose on the page: whether consent or objection applies, and the current answer."""

    key: str
    by_consent: bool
    permission: Permission
    decision: Decision | None


def managed_purposes(manifest: Manifest) -> tuple[list[str], list[str]]:
    """Consent purposes not asked by the cookie banner, and purposes open to objection, in manifest order."""
    consent, objectable = [], []
    for key, purpose in manifest.purposes.items():
        if purpose.legal_basis == "consent":
            # Cookie purposes are chosen per category with the banner's panel on the same page.
            if not purpose_categories(manifest, key):
                consent.append(key)
        elif purpose.legal_basis in OBJECTABLE_BASES and purpose.objection:
            objectable.append(key)
    return consent, objectable


def purpose_standings(session: Session, manifest: Manifest, subject: SubjectKey, *, clock: Clock = utcnow,
                      restrictions: RestrictionSource = NO_RESTRICTIONS) -> list[PurposeStanding]:
    """Every managed purpose with the subject's current permission and decision."""
    consent, objectable = managed_purposes(manifest)
    standings = []
    for keys, by_consent in ((consent, True), (objectable, False)):
        for key in keys:
            answer = check_permissions(session, manifest, [str(subject)], key, clock=clock,
                                       restrictions=restrictions)[0]
            standings.append(PurposeStanding(key, by_consent, answer,
                                             current_decision(session, subject, Scope.purpose, key)))
    return standings


def preferences_notice(manifest: Manifest, lang: str, labels: Mapping[str, str]) -> Notice:
    """The page's content in ``lang`` (purposes as described, button labels): what a decision there was made on."""
    consent, objectable = managed_purposes(manifest)
    purposes = [{"key": key, "name": tr(manifest.purposes[key].name, lang),
                 "description": tr(manifest.purposes[key].description, lang),
                 "legal_basis": manifest.purposes[key].legal_basis} for key in consent + objectable]
    return Notice("preferences", {"lang": lang, "purposes": purposes, "labels": dict(sorted(labels.items()))})


def apply_preference(session: Session, manifest: Manifest, subject: SubjectKey, purpose: str,
                     action: PreferenceAction, collection: Collection, *, clock: Clock = utcnow) -> Decision | None:
    """Do what a button says; the decision recorded, or None when it was already so."""
    consent, objectable = managed_purposes(manifest)
    if purpose not in consent and purpose not in objectable:
        raise UnknownPurpose(f"purpose {purpose!r} is not managed on the preferences page")
    if action is PreferenceAction.withdraw:
        event = withdraw(session, manifest, subject, purpose, collection, clock=clock)
    elif action is PreferenceAction.object:
        event = object_to(session, manifest, subject, purpose, collection, clock=clock)
    elif (action is PreferenceAction.give and purpose in consent) or action is PreferenceAction.lift:
        if action is PreferenceAction.lift and current_decision(session, subject, Scope.purpose,
                                                                purpose) is not Decision.objected:
            return None
        event = record_choices(session, manifest, subject, [Choice(Scope.purpose, purpose, Decision.given)],
                               collection, clock=clock)[0]
    else:
        raise DecisionNotApplicable(f"{action.value!r} does not apply to purpose {purpose!r}")
    return Decision(event.decision) if event is not None else None
