"""How an organisation runs its rights requests: verification strength, auto-approval, limits, delays.

Read from ``CHARTE_RIGHTS_*`` environment variables (or the workspace's ``.env``); see ``docs/rights.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, get_args

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from charte.config import Settings

#: ``email``: possession of the address (code or link) is enough. ``review``: the DPO also confirms the identity
#: from what the organisation holds, and may record a reasonable doubt to ask for an identity document.
VerificationLevel = Literal["email", "review"]
LEVELS: tuple[VerificationLevel, ...] = get_args(VerificationLevel)

#: Request types whose answer discloses or changes data: a special category in the manifest makes them stricter.
DISCLOSING_TYPES = frozenset({"access", "portability", "rectification", "erasure"})


class InvalidRightsSetting(ValueError):
    """A ``CHARTE_RIGHTS_*`` value cannot be understood."""


@dataclass(frozen=True)
class RightsPolicy:
    """The organisation's choices for rights requests (defaults are the proportionate, EDPB-minded ones)."""

    timezone: str = "Europe/Paris"
    alsace_moselle: bool = False
    verification: Mapping[str, VerificationLevel] = field(default_factory=dict)
    special_category_level: VerificationLevel = "review"
    identifiers_level: VerificationLevel = "review"
    auto_approve: frozenset[str] = frozenset({"withdraw_consent", "information"})
    code_ttl: timedelta = timedelta(hours=24)
    max_attempts: int = 5
    intake_per_address: int = 10
    intake_per_email: int = 5
    intake_window: timedelta = timedelta(hours=24)
    subject_session_ttl: timedelta = timedelta(hours=1)
    download_ttl: timedelta = timedelta(days=7)
    answer_retention: timedelta = timedelta(days=30)
    unverified_expiry: timedelta = timedelta(days=30)
    lease: timedelta = timedelta(minutes=15)
    max_execution_attempts: int = 5
    reminder_days: tuple[int, ...] = (7, 2)
    lift_notice: timedelta = timedelta(days=7)
    #: Key of the HMAC under which one-time codes are stored (derived from CHARTE_SECRET_KEY by
    #: :func:`policy_from_settings`): without it, a copy of the database does not reveal a six-digit code.
    code_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def level_for(self, request_type: str, *, special_category: bool, has_identifiers: bool) -> VerificationLevel:
        """The strictest level that applies: per type, special-category data, extra identifiers."""
        levels = [self.verification.get(request_type, "email")]
        if special_category and request_type in DISCLOSING_TYPES:
            levels.append(self.special_category_level)
        if has_identifiers:
            # The email proves the address, not that a customer number given with it is the sender's.
            levels.append(self.identifiers_level)
        return "review" if "review" in levels else "email"


class RightsSettings(BaseSettings):
    """The ``CHARTE_RIGHTS_*`` variables, as text."""

    model_config = SettingsConfigDict(env_prefix="CHARTE_RIGHTS_", env_file=".env", extra="ignore")

    timezone: str = "Europe/Paris"
    alsace_moselle: bool = False
    verification: str = Field("", description="Per type, e.g. 'access=review,erasure=review'.")
    special_category_level: str = "review"
    identifiers_level: str = "review"
    auto_approve: str = Field("withdraw_consent,information", description="Types approved once verified.")
    code_ttl_minutes: int = 24 * 60
    max_attempts: int = 5
    intake_per_address: int = 10
    intake_per_email: int = 5
    download_ttl_hours: int = 7 * 24
    lift_notice_days: int = 7
    lease_seconds: int = Field(15 * 60, description="How long a worker owns a request's execution before others retry.")


def _level(text: str, where: str) -> VerificationLevel:
    for level in LEVELS:
        if text.strip() == level:
            return level
    raise InvalidRightsSetting(f"{where}: {text!r} is not a verification level ({', '.join(LEVELS)})")


def _words(text: str) -> frozenset[str]:
    return frozenset(w.strip() for w in text.split(",") if w.strip())


def policy_from_settings(settings: Settings) -> RightsPolicy:
    """The policy configured for a workspace (its ``.env`` and the environment, the environment winning)."""
    raw = RightsSettings(_env_file=settings.home / ".env")
    verification: dict[str, VerificationLevel] = {}
    for pair in _words(raw.verification):
        kind, sep, level = pair.partition("=")
        if not sep:
            raise InvalidRightsSetting(f"CHARTE_RIGHTS_VERIFICATION: {pair!r} is not type=level")
        verification[kind.strip()] = _level(level, "CHARTE_RIGHTS_VERIFICATION")
    if raw.max_attempts < 1 or raw.code_ttl_minutes < 1:
        raise InvalidRightsSetting("CHARTE_RIGHTS_MAX_ATTEMPTS and CHARTE_RIGHTS_CODE_TTL_MINUTES must be positive")
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    code_key = (hmac.new(secret.encode(), b"charte.rights.code-key", hashlib.sha256).digest() if secret
                else secrets.token_bytes(32))
    return RightsPolicy(
        code_key=code_key,
        timezone=raw.timezone,
        alsace_moselle=raw.alsace_moselle,
        verification=verification,
        special_category_level=_level(raw.special_category_level, "CHARTE_RIGHTS_SPECIAL_CATEGORY_LEVEL"),
        identifiers_level=_level(raw.identifiers_level, "CHARTE_RIGHTS_IDENTIFIERS_LEVEL"),
        auto_approve=_words(raw.auto_approve),
        code_ttl=timedelta(minutes=raw.code_ttl_minutes),
        max_attempts=raw.max_attempts,
        intake_per_address=raw.intake_per_address,
        intake_per_email=raw.intake_per_email,
        download_ttl=timedelta(hours=raw.download_ttl_hours),
        lift_notice=timedelta(days=raw.lift_notice_days),
        lease=timedelta(seconds=raw.lease_seconds),
    )
