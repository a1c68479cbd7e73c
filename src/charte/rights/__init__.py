"""Data-subject requests: intake, identity verification, deadlines, workflow, execution step, letters.

Entry points (see ``docs/rights.md``): :func:`receive`, :func:`confirm_code` / :func:`confirm_link`, the DPO's
:func:`decide_approve`, :func:`decide_deny`, :func:`decide_extend`, :func:`run_request` (claim, execute, answer),
:func:`due_date`, :func:`remind_dpo`, :func:`is_restricted`, and the plug-in protocols :class:`Executor` and
:class:`ConsentActions`. :func:`rights_services` assembles them for a workspace.
"""

from charte.rights.consent_actions import ConsentActions, ConsentActionsUnavailable, ConsentChange
from charte.rights.deadlines import (
    MAX_EXTENSION_MONTHS,
    add_months,
    due_date,
    easter_sunday,
    french_public_holidays,
    is_working_day,
    parse_within,
    working_day_on_or_after,
)
from charte.rights.demo import seed_demo_requests
from charte.rights.execution import (
    ExecutionOutcome,
    ExecutionUnavailable,
    Executor,
    FoundRecord,
    FoundValue,
    ManifestExecutor,
    SystemAction,
)
from charte.rights.identity import IdentifierKind, Identity, InvalidIdentity, identifier_kinds, subject_ref
from charte.rights.intake import (
    IntakeResult,
    InvalidSubmission,
    Submission,
    TooManyRequests,
    request_types,
    selectable_purposes,
)
from charte.rights.letters import Letter, LetterSection
from charte.rights.links import InvalidLink, RightsSigner, SubjectSession
from charte.rights.policy import InvalidRightsSetting, RightsPolicy, VerificationLevel, policy_from_settings
from charte.rights.reminders import DueRequest, due_within, remind_dpo
from charte.rights.report import ART15_ITEMS, access_report
from charte.rights.requests import UnknownRequest, find_request, list_requests
from charte.rights.restriction import (
    RESTRICTIONS,
    LiftNotAnnounced,
    LiftTooEarly,
    RestrictionError,
    RestrictionRegister,
    is_restricted,
)
from charte.rights.service import (
    RightsServices,
    announce_restriction_lift,
    artefacts,
    confirm_code,
    confirm_link,
    decide_approve,
    decide_deny,
    decide_extend,
    doubt_identity,
    identity_confirmed,
    lift_restriction,
    receive,
    requests_to_run,
    run_pending,
    run_request,
    send_signin,
    subject_requests,
)
from charte.rights.states import CLOSED, OPEN, STATES, InvalidTransition, State
from charte.rights.verification import (
    ChallengeExpired,
    ChallengeLocked,
    InvalidDocument,
    MissingReason,
    NoChallenge,
    VerificationError,
    WrongCode,
)
from charte.rights.wiring import rights_services
from charte.rights.workflow import (
    ExtensionRefused,
    LeaseLost,
    WorkflowError,
    claim,
    close_unverified,
    expired_leases,
    pending_execution,
    purge_answers,
)

__all__ = [
    "ART15_ITEMS", "CLOSED", "MAX_EXTENSION_MONTHS", "OPEN", "RESTRICTIONS", "STATES", "ChallengeExpired",
    "ChallengeLocked", "ConsentActions", "ConsentActionsUnavailable", "ConsentChange", "DueRequest",
    "ExecutionOutcome", "ExecutionUnavailable", "Executor", "ExtensionRefused", "FoundRecord", "FoundValue",
    "IdentifierKind", "Identity", "IntakeResult", "InvalidDocument", "InvalidIdentity", "InvalidLink",
    "InvalidRightsSetting", "InvalidSubmission", "InvalidTransition", "LeaseLost", "Letter", "LetterSection",
    "LiftNotAnnounced", "LiftTooEarly", "ManifestExecutor", "MissingReason", "NoChallenge", "RestrictionError",
    "RestrictionRegister", "RightsPolicy", "RightsServices", "RightsSigner", "State", "SubjectSession", "Submission",
    "SystemAction", "TooManyRequests", "UnknownRequest", "VerificationError", "VerificationLevel", "WorkflowError",
    "WrongCode", "access_report", "add_months", "announce_restriction_lift", "artefacts", "claim",
    "close_unverified", "confirm_code", "confirm_link", "decide_approve", "decide_deny", "decide_extend",
    "doubt_identity", "due_date", "due_within", "easter_sunday", "expired_leases", "find_request",
    "french_public_holidays", "identifier_kinds", "identity_confirmed", "is_restricted", "is_working_day",
    "lift_restriction", "list_requests", "parse_within", "pending_execution", "policy_from_settings",
    "purge_answers", "receive", "remind_dpo", "request_types", "requests_to_run", "rights_services", "run_pending",
    "run_request", "seed_demo_requests", "selectable_purposes", "send_signin", "subject_ref", "subject_requests",
    "working_day_on_or_after",
]
