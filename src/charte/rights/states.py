"""The states of a rights request and the moves allowed between them."""

from __future__ import annotations

from typing import Final, Literal, get_args

State = Literal[
    "received",               # recorded, nothing sent yet (lasts only inside the intake transaction)
    "awaiting_verification",  # waiting for the subject: code, link or identity document (clock suspended)
    "identity_review",        # the DPO confirms the identity (stronger checks)
    "verified",               # identity established, waiting for the decision
    "approved",               # to be executed
    "executing",              # a worker holds the lease and runs the execution step
    "completed",              # answered
    "denied",                 # refused with reasons
    "cancelled",              # withdrawn by the subject, or never verified
]
STATES: Final[tuple[State, ...]] = get_args(State)
CLOSED: Final[frozenset[str]] = frozenset({"completed", "denied", "cancelled"})
OPEN: Final[frozenset[str]] = frozenset(STATES) - CLOSED
#: States in which the subject, not the organisation, has to act: the deadline clock is suspended.
WAITING_FOR_SUBJECT: Final[frozenset[str]] = frozenset({"awaiting_verification"})

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "received": frozenset({"awaiting_verification", "verified"}),
    "awaiting_verification": frozenset({"awaiting_verification", "identity_review", "verified", "denied",
                                        "cancelled"}),
    "identity_review": frozenset({"awaiting_verification", "verified", "denied", "cancelled"}),
    "verified": frozenset({"awaiting_verification", "approved", "denied", "cancelled"}),
    "approved": frozenset({"executing", "denied", "cancelled"}),
    "executing": frozenset({"executing", "approved", "completed"}),
    "completed": frozenset(),
    "denied": frozenset(),
    "cancelled": frozenset(),
}


class InvalidTransition(Exception):
    """The request is not in a state from which this action is possible."""

    def __init__(self, reference: str, current: str, target: str) -> None:
        super().__init__(f"request {reference} is {current}: it cannot become {target}")
        self.current = current
        self.target = target


def check_transition(reference: str, current: str, target: str) -> None:
    """Raise :class:`InvalidTransition` unless ``current`` may move to ``target``."""
    if target not in TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(reference, current, target)
