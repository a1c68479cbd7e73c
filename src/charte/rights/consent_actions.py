"""What objection and consent-withdrawal requests change in the consent state, behind a protocol.

The consent feature implements :class:`ConsentActions`; its state is what the permission check reads. Until it is
wired, :class:`UnwiredConsentActions` refuses, so a request is never answered "done" when nothing changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from sqlalchemy.orm import Session

from charte.ledger.chain import Clock
from charte.rights.identity import Identity

ChangeKind = Literal["withdrawn", "objected"]


class ConsentActionsUnavailable(RuntimeError):
    """No consent engine is configured: the request cannot change the consent state."""


@dataclass(frozen=True)
class ConsentChange:
    """The consent state of one purpose after the request: what the subject is told."""

    purpose: str
    state: ChangeKind
    effective_at: datetime
    previous: str | None = None


@runtime_checkable
class ConsentActions(Protocol):
    """Changes the subject's consent state; runs in the caller's transaction and records its own events."""

    def withdraw(self, session: Session, identity: Identity, purposes: Sequence[str], *, actor: str,
                 clock: Clock) -> list[ConsentChange]:
        """Withdraw the subject's consent to ``purposes`` (Art. 7(3))."""
        ...

    def object(self, session: Session, identity: Identity, purposes: Sequence[str], *, actor: str,
               clock: Clock) -> list[ConsentChange]:
        """Record the subject's objection to ``purposes`` (Art. 21, and Art. 22 for profiling)."""
        ...


class UnwiredConsentActions:
    """The default until the consent engine is wired: refuses instead of confirming a change it cannot make."""

    def withdraw(self, session: Session, identity: Identity, purposes: Sequence[str], *, actor: str,
                 clock: Clock) -> list[ConsentChange]:
        """Refuse: no consent engine."""
        raise ConsentActionsUnavailable("no consent engine is configured to record the withdrawal")

    def object(self, session: Session, identity: Identity, purposes: Sequence[str], *, actor: str,
               clock: Clock) -> list[ConsentChange]:
        """Refuse: no consent engine."""
        raise ConsentActionsUnavailable("no consent engine is configured to record the objection")
