"""Consent and objection: decisions as immutable events, the permission check, proofs, banner and signed links."""

from charte.consent.permissions import Permission, PermissionReason, check_permission, check_permissions
from charte.consent.proof import ProofCheck, UnknownSubject, consent_proof, record_schema, verify_proof
from charte.consent.recording import (
    Choice,
    Collection,
    ConsentError,
    CookieChoices,
    DecisionNotApplicable,
    UnknownCategory,
    UnknownPurpose,
    check_choice,
    cookie_choices,
    current_decision,
    link_visitor,
    object_to,
    record_choices,
    record_cookie_choices,
    unsubscribe,
    withdraw,
)
from charte.consent.request_meta import RequestMeta, minimise_request
from charte.consent.restriction import NO_RESTRICTIONS, NoRestrictionRegister, RestrictionSource
from charte.consent.subjects import AlreadyLinked, InvalidSubject, SubjectKey, SubjectKind, parse_subject
from charte.consent.vocabulary import CollectionMethod, Decision, Scope

__all__ = [
    "NO_RESTRICTIONS",
    "AlreadyLinked",
    "Choice",
    "Collection",
    "CollectionMethod",
    "ConsentError",
    "CookieChoices",
    "Decision",
    "DecisionNotApplicable",
    "InvalidSubject",
    "NoRestrictionRegister",
    "Permission",
    "PermissionReason",
    "ProofCheck",
    "RequestMeta",
    "RestrictionSource",
    "Scope",
    "SubjectKey",
    "SubjectKind",
    "UnknownCategory",
    "UnknownPurpose",
    "UnknownSubject",
    "check_choice",
    "check_permission",
    "check_permissions",
    "consent_proof",
    "cookie_choices",
    "current_decision",
    "link_visitor",
    "minimise_request",
    "object_to",
    "parse_subject",
    "record_choices",
    "record_cookie_choices",
    "record_schema",
    "unsubscribe",
    "verify_proof",
    "withdraw",
]
