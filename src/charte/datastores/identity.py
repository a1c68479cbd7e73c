"""The forms an identity value may be stored in, so one lookup finds the subject however it was typed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import phonenumbers

#: Identity kinds of the privacy center and of Fides datasets.
EMAIL = "email"
PHONE = "phone_number"


class InvalidIdentity(ValueError):
    """An identity value is empty or unusable."""


def _email(value: str) -> list[str]:
    return [value, value.lower()]


def _phone(value: str, region: str) -> list[str]:
    forms = [value, "".join(c for c in value if c.isdigit() or c == "+")]
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return forms
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    forms += [
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        national,
        "".join(c for c in national if c.isdigit()),
    ]
    return forms


def identity_forms(kind: str, value: str, *, region: str = "FR") -> list[str]:
    """``value`` and its usual spellings: lower-case email; E.164, international and national phone numbers."""
    value = value.strip()
    if not value:
        raise InvalidIdentity(f"empty {kind}")
    if kind == EMAIL:
        forms = _email(value)
    elif kind == PHONE:
        forms = _phone(value, region)
    else:
        forms = [value]
    return list(dict.fromkeys(forms))


def normalise_identity(identity: Mapping[str, str | Sequence[str]], *, region: str = "FR") -> dict[str, list[str]]:
    """Every identity kind with all the forms of its values."""
    out: dict[str, list[str]] = {}
    for kind, given in identity.items():
        values: Iterable[str] = [given] if isinstance(given, str) else given
        forms = [form for value in values for form in identity_forms(kind, str(value), region=region)]
        if forms:
            out[kind] = list(dict.fromkeys(forms))
    if not out:
        raise InvalidIdentity("no identity given (email, phone_number, customer_id...)")
    return out
