"""Who a request is about: an email address and/or the organisation's identifiers declared in the manifest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from charte.manifest import Manifest, tr

MAX_IDENTIFIER_LENGTH = 200
#: Data categories that identify a person in the organisation's systems when no dataset annotation says more.
FALLBACK_IDENTIFIER_CATEGORIES = ("user.unique_id", "user.account.username", "user.contact.phone_number")
_EMAIL_IDENTITIES = {"email", "user.contact.email"}


class InvalidIdentity(ValueError):
    """The identity given cannot be used; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class IdentifierKind:
    """An identifier the organisation knows people by (customer number, account name...)."""

    key: str
    label: dict[str, str]

    def name(self, lang: str) -> str:
        """The label in ``lang``."""
        return tr(self.label, lang) or self.key


@dataclass(frozen=True)
class Identity:
    """The identity a request gives; ``identifiers`` maps an :class:`IdentifierKind` key to a value."""

    email: str | None = None
    identifiers: Mapping[str, str] = field(default_factory=dict)

    def pairs(self) -> Iterator[tuple[str, str]]:
        """Every (kind, value), the email first."""
        if self.email:
            yield "email", self.email
        yield from sorted(self.identifiers.items())


def normalise_email(text: str) -> str:
    """A syntactically valid address, its domain lower-cased; raise :class:`InvalidIdentity` otherwise."""
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentity("email", str(exc)) from None
    # Local parts are case-sensitive in theory and never in practice: one person, one subject.
    return checked.normalized.lower()


def identifier_kinds(manifest: Manifest, manifest_dir: Path | None = None) -> list[IdentifierKind]:
    """The identifiers a subject may give: the identity fields of the systems' dataset annotations (inline or in
    ``file:`` references, read from ``manifest_dir``, default the current directory), else the manifest's
    identifying categories."""
    from charte.datastores.loading import read_datasets

    # Problems in the annotations are reported by `charte check`; what could be read is still offered here.
    systems, _problems = read_datasets(manifest, base_dir=manifest_dir or Path())
    kinds: dict[str, IdentifierKind] = {}
    for system in systems.values():
        for collection, _loaded in system.collections.values():
            for spec in collection.fields.values():
                identity = spec.identity
                if not identity or identity in _EMAIL_IDENTITIES or identity in kinds:
                    continue
                declared = next((manifest.data_categories[c] for c in spec.all_categories
                                 if c in manifest.data_categories), None)
                label = dict(declared.name) if declared else {"*": identity.replace("_", " ")}
                kinds[identity] = IdentifierKind(identity, label)
    if not kinds:
        for key in FALLBACK_IDENTIFIER_CATEGORIES:
            if key in manifest.data_categories:
                kinds[key] = IdentifierKind(key, dict(manifest.data_categories[key].name))
    return list(kinds.values())


def identity_from_input(manifest: Manifest, email: str | None, identifiers: Mapping[str, str] | None, *,
                        kinds: Sequence[IdentifierKind] | None = None) -> Identity:
    """Check and normalise what a subject typed; unknown identifier kinds and empty identities are refused."""
    known = {kind.key for kind in (identifier_kinds(manifest) if kinds is None else kinds)}
    checked: dict[str, str] = {}
    for kind, value in (identifiers or {}).items():
        value = (value or "").strip()
        if not value:
            continue
        if kind not in known:
            raise InvalidIdentity(f"identifiers.{kind}", f"{kind!r} is not an identifier this organisation uses")
        if len(value) > MAX_IDENTIFIER_LENGTH or any(ord(c) < 32 for c in value):
            raise InvalidIdentity(f"identifiers.{kind}", "this identifier is too long or has control characters")
        checked[kind] = value
    address = normalise_email(email) if email and email.strip() else None
    if address is None and not checked:
        raise InvalidIdentity("email", "give an email address or one of your identifiers")
    return Identity(address, checked)


def subject_ref(identity: Identity) -> str:
    """A stable digest naming the subject: of the email when given (how they are verified), else of identifiers."""
    if identity.email:
        basis = f"email:{identity.email}"
    else:
        basis = "|".join(f"{kind}:{value}" for kind, value in sorted(identity.identifiers.items()))
    return hashlib.sha256(f"charte.subject\x00{basis}".encode()).hexdigest()


def mask_email(address: str | None) -> str:
    """An address shown partly, for pages a third party might see: ``a***@example.com``."""
    if not address:
        return ""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"
