"""Password hashing (Argon2id) and the password policy for dashboard users."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # Argon2 accepts more, but megabyte "passwords" are a cheap way to burn CPU.

_hasher = PasswordHasher()


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says which rule it breaks."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_password_policy(password: str, *, username: str) -> None:
    """Raise :class:`WeakPassword` unless the password may be used by ``username``."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_LENGTH} characters")
    if not password.strip():
        raise WeakPassword("the password cannot be only spaces")
    if password.strip().casefold() == username.strip().casefold():
        raise WeakPassword("the password cannot be the username")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` in PHC string form (salt and parameters included)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; a malformed hash never matches."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's and should be replaced."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash to verify against when the user is unknown, so timing does not reveal who exists."""
    return _hasher.hash("charte-dummy-password-never-valid")
