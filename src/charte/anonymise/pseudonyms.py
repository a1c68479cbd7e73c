"""Keyed pseudonyms: HMAC-SHA256 of a value, stable per key, useless without the key."""

from __future__ import annotations

import base64
import hashlib
import hmac

from charte.anonymise.keys import Keyring

PREFIX = "ps"


class NotAPseudonym(ValueError):
    """The text was not made by :func:`pseudonym`."""


def _canonical(value: object) -> bytes:
    # Identifiers compare case-insensitively (emails), so their pseudonyms must too.
    text = value.strip().casefold() if isinstance(value, str) else str(value)
    return text.encode("utf-8")


def pseudonym(value: object, keyring: Keyring, *, key_id: str | None = None) -> str:
    """``ps_<key id>_<26 base32 chars>``: 130 bits of HMAC-SHA256, same value and key give the same text."""
    key = keyring.get(key_id) if key_id else keyring.current
    digest = hmac.new(key.secret, _canonical(value), hashlib.sha256).digest()
    return f"{PREFIX}_{key.key_id}_{base64.b32encode(digest).decode().lower()[:26]}"


def key_id_of(text: str) -> str:
    """The id of the key a pseudonym was made with (to find those needing rotation)."""
    parts = text.split("_")
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[2]) != 26:
        raise NotAPseudonym(f"{text!r} is not a Charte pseudonym")
    return parts[1]
