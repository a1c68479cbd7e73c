"""Masking strategies: what an erasure or an anonymisation writes in place of a value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from charte.anonymise.generalise import age_band, generalise_date, generalise_postcode, truncate_ip
from charte.anonymise.keys import Keyring
from charte.anonymise.pseudonyms import pseudonym


class UnknownStrategy(ValueError):
    """No masking strategy has this name."""


class UnsupportedStrategy(ValueError):
    """A strategy from another tool that Charte does not apply (and will not silently replace)."""


class MaskingStrategy(Protocol):
    """Turns one stored value into its masked form."""

    @property
    def name(self) -> str:
        """The strategy's name in annotations."""

    @property
    def constant(self) -> bool:
        """Whether every row gets the same value."""

    def apply(self, value: object) -> object:
        """The masked form of ``value``."""

    def constant_value(self) -> object:
        """The single value every row gets, when ``constant`` (enables one set-based UPDATE)."""


@dataclass(frozen=True)
class Constant:
    """Every row gets the same value: NULL or a fixed mask."""

    name: str
    value: object = None
    constant: bool = True

    def apply(self, value: object) -> object:
        """The fixed value, whatever the input."""
        return self.value

    def constant_value(self) -> object:
        """The fixed value."""
        return self.value


@dataclass(frozen=True)
class PerValue:
    """Each value is transformed on its own (pseudonyms, generalisations)."""

    name: str
    function: Callable[[object], object] = field(repr=False)
    constant: bool = False

    def apply(self, value: object) -> object:
        """The transformed value; NULL stays NULL."""
        return None if value is None else self.function(value)

    def constant_value(self) -> object:
        """Not constant: there is no single value."""
        raise TypeError(f"strategy {self.name!r} masks each value differently")


STRATEGIES = ("null", "mask", "pseudonym", "truncate_ip", "generalise_date", "generalise_postcode", "age_band")


def masking_strategy(name: str, *, keyring: Keyring | None = None, **params: Any) -> MaskingStrategy:
    """The strategy called ``name`` with its parameters."""
    if name == "null":
        return Constant("null")
    if name == "mask":
        return Constant("mask", params.get("value", "***"))
    if name == "pseudonym":
        if keyring is None:
            raise UnknownStrategy("the pseudonym strategy needs a keyring (CHARTE_PSEUDONYM_KEYS)")
        ring = keyring
        return PerValue("pseudonym", lambda v: pseudonym(v, ring))
    if name == "truncate_ip":
        ipv4, ipv6 = int(params.get("ipv4_bytes", 2)), int(params.get("ipv6_bits", 80))
        return PerValue("truncate_ip", lambda v: truncate_ip(v, ipv4, ipv6))
    if name == "generalise_date":
        to = str(params.get("to", "month"))
        return PerValue("generalise_date", lambda v: generalise_date(v, to))
    if name == "generalise_postcode":
        return PerValue("generalise_postcode", generalise_postcode)
    if name == "age_band":
        width = int(params.get("width", 10))
        return PerValue("age_band", lambda v: age_band(v, width))
    raise UnknownStrategy(f"unknown masking strategy {name!r}; one of: {', '.join(STRATEGIES)}")


def from_fides_strategy(name: str, config: dict[str, Any] | None = None, *,
                        keyring: Keyring | None = None) -> MaskingStrategy:
    """Our strategy for a Fides ``masking_strategy`` (``null_rewrite``, ``string_rewrite``, ``hash``, ``hmac``...)."""
    config = config or {}
    if name == "null_rewrite":
        return masking_strategy("null")
    if name == "string_rewrite":
        return masking_strategy("mask", value=config.get("rewrite_value", "***"))
    if name in ("hash", "hmac", "random_string_rewrite"):
        # Unkeyed hashes of identifiers can be reversed by guessing; random strings lose referential
        # consistency. A keyed pseudonym keeps the joins and cannot be recomputed without the key.
        return masking_strategy("pseudonym", keyring=keyring)
    raise UnsupportedStrategy(
        f"Fides masking strategy {name!r} is not supported: use null_rewrite, string_rewrite, hash or hmac"
    )
