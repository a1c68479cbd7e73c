"""Pseudonymisation keys: from the environment, each with an id so keys can rotate."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

KEYS_VARIABLE = "CHARTE_PSEUDONYM_KEYS"
_KEY_ID = re.compile(r"^[a-z0-9]{1,16}$")
_MIN_SECRET_BYTES = 32


class MissingPseudonymKey(Exception):
    """No pseudonymisation key is configured, or the one asked for is unknown."""


class InvalidPseudonymKey(ValueError):
    """A configured key is malformed or too short."""


@dataclass(frozen=True)
class PseudonymKey:
    """One HMAC-SHA256 key and the id written into every pseudonym made with it."""

    key_id: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class Keyring:
    """The current key (first) and older keys kept to recognise old pseudonyms."""

    keys: tuple[PseudonymKey, ...]

    @property
    def current(self) -> PseudonymKey:
        """The key new pseudonyms are made with."""
        return self.keys[0]

    def get(self, key_id: str) -> PseudonymKey:
        """The key with this id."""
        for key in self.keys:
            if key.key_id == key_id:
                return key
        raise MissingPseudonymKey(f"no pseudonymisation key with id {key_id!r} in {KEYS_VARIABLE}")

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """Read ``id:base64url,id:base64url`` (newest first)."""
        keys: list[PseudonymKey] = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            key_id, _, encoded = part.partition(":")
            if not _KEY_ID.match(key_id) or not encoded:
                raise InvalidPseudonymKey(
                    f"{KEYS_VARIABLE}: each entry is id:base64url-secret with a lower-case id of 1-16 letters/digits"
                )
            try:
                secret = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError) as exc:
                raise InvalidPseudonymKey(f"{KEYS_VARIABLE}: key {key_id!r} is not base64url") from exc
            if len(secret) < _MIN_SECRET_BYTES:
                raise InvalidPseudonymKey(f"{KEYS_VARIABLE}: key {key_id!r} has {len(secret)} bytes; 32 at least")
            if any(k.key_id == key_id for k in keys):
                raise InvalidPseudonymKey(f"{KEYS_VARIABLE}: key id {key_id!r} appears twice")
            keys.append(PseudonymKey(key_id, secret))
        if not keys:
            raise MissingPseudonymKey(f"{KEYS_VARIABLE} holds no key")
        return cls(tuple(keys))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Keyring:
        """The keyring configured in ``CHARTE_PSEUDONYM_KEYS``."""
        text = environ.get(KEYS_VARIABLE, "")
        if not text.strip():
            raise MissingPseudonymKey(
                f"set {KEYS_VARIABLE} (e.g. `k1:` followed by 32+ random bytes in base64url) to make pseudonyms"
            )
        return cls.parse(text)

    @classmethod
    def generate(cls, key_id: str = "k1") -> Keyring:
        """A keyring with one new random key (tests, demo)."""
        return cls((PseudonymKey(key_id, secrets.token_bytes(32)),))

    def to_env(self) -> str:
        """The keyring as the value of ``CHARTE_PSEUDONYM_KEYS``."""
        return ",".join(f"{k.key_id}:{base64.urlsafe_b64encode(k.secret).decode().rstrip('=')}" for k in self.keys)
