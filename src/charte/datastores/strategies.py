"""Turn an annotation's erasure action into a masking strategy of :mod:`charte.anonymise`."""

from __future__ import annotations

from charte.anonymise import (
    Keyring,
    MaskingStrategy,
    MissingPseudonymKey,
    UnknownStrategy,
    UnsupportedStrategy,
    from_fides_strategy,
    masking_strategy,
)
from charte.datastores.annotations import Erasure

_PSEUDONYMOUS_FIDES = frozenset({"hash", "hmac", "random_string_rewrite"})


class UnusableStrategy(ValueError):
    """The erasure action names a strategy Charte cannot apply, or gives it wrong parameters."""


def needs_keyring(erasure: Erasure) -> bool:
    """Whether applying the action makes keyed pseudonyms (and so needs ``CHARTE_PSEUDONYM_KEYS``)."""
    if erasure.action == "fides":
        return str(erasure.params.get("strategy")) in _PSEUDONYMOUS_FIDES
    return erasure.action == "pseudonym"


def build_strategy(erasure: Erasure, keyring: Keyring | None) -> MaskingStrategy | None:
    """The strategy for ``erasure``; None when the action keeps the value."""
    if erasure.action == "keep":
        return None
    if needs_keyring(erasure) and keyring is None:
        raise MissingPseudonymKey("this erasure makes keyed pseudonyms: set CHARTE_PSEUDONYM_KEYS")
    try:
        if erasure.action == "fides":
            return from_fides_strategy(str(erasure.params.get("strategy")),
                                       dict(erasure.params.get("configuration") or {}), keyring=keyring)
        return masking_strategy(erasure.action, keyring=keyring, **erasure.params)
    except (UnknownStrategy, UnsupportedStrategy, TypeError, ValueError) as exc:
        raise UnusableStrategy(str(exc)) from exc


def check_strategy(erasure: Erasure) -> None:
    """Raise :class:`UnusableStrategy` unless the action can be applied (keys aside)."""
    build_strategy(erasure, Keyring.generate("check") if needs_keyring(erasure) else None)
