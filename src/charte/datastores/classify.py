"""A first guess of a column's data category, from its name and from sampled values.

Deliberately simple and explainable (a later issue deepens the classification): a name rule, then a value
rule that most non-empty samples must satisfy. Each guess says why it was made.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum import iban
from stdnum.fr import nir

EMAIL = "user.contact.email"
PHONE = "user.contact.phone_number"


@dataclass(frozen=True)
class Guess:
    """A data category guessed for a column, and the evidence."""

    category: str
    reason: str


def _words(name: str) -> str:
    # customerEmail, Customer_Email, customer-email -> "customer email"
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return " " + re.sub(r"[^a-z0-9]+", " ", spaced.lower()).strip() + " "


#: (pattern on the column name's words, category), first match wins; French and English names.
_NAME_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), c) for p, c in [
        (r" (e ?mail|courriel|mail)( address| adresse)? ", EMAIL),
        (r" (fax|telecopie) ", "user.contact.fax_number"),
        (r" (phone|telephone|tel|mobile|portable|gsm|cell)( number| numero)? ", PHONE),
        (r" (first ?name|given name|prenom|forename) ", "user.name.first"),
        (r" (last ?name|surname|family name|nom de famille|nom) ", "user.name.last"),
        (r" (full ?name|contact name|billing name|nom complet|author name|customer name) ", "user.name"),
        (r" (birth ?date|date of birth|dob|birthday|date naissance|naissance|ne le) ",
         "user.demographic.date_of_birth"),
        (r" (iban|bank account|rib) ", "user.financial.bank_account"),
        (r" (card number|credit card|pan) ", "user.financial.credit_card"),
        (r" (nir|ssn|social security|numero secu|secu|insee) ", "user.government_id.national_identification_number"),
        (r" (ip|ip address|ipaddress|ip addr|remote addr|client ip|adresse ip) ", "user.device.ip_address"),
        (r" (visitor id|cookie id|cookie|device id|session id|client id visitor) ", "user.device.cookie_id"),
        (r" (user agent|useragent) ", "user.device"),
        (r" (postcode|postal code|post code|zip|zipcode|zip code|code postal|cp) ", "user.contact.address.postal_code"),
        (r" (city|town|ville|commune) ", "user.contact.address.city"),
        (r" (country|pays) ", "user.contact.address.country"),
        (r" (state|region|departement) ", "user.contact.address.state"),
        (r" (street|rue|address line \d|address|adresse|billing address|voie) ", "user.contact.address"),
        (r" (password|passwd|pass hash|password hash|mot de passe) ", "user.authorization.credentials"),
        (r" (company|organization|organisation|societe|officine|pharmacy|pharmacie|employer) ",
         "user.contact.organization"),
        (r" (job title|fonction|poste|position) ", "user.job_title"),
        (r" (gender|sexe|civilite|title civility) ", "user.demographic.gender"),
        (r" (username|user name|login|pseudo) ", "user.account.username"),
        (r" (customer|client|member|account|adherent) (number|no|num|numero|code|ref) ", "user.unique_id"),
        (r" (url|page|path|referrer|referer) ", "user.behavior.browsing_history"),
        (r" (body|message|comment|commentaire|content|contenu|notes?|description|cv|cover letter|lettre) ",
         "user.content.private"),
    ]
]


def guess_from_name(name: str) -> Guess | None:
    """The category a column's name suggests."""
    words = _words(name)
    for pattern, category in _NAME_RULES:
        if pattern.search(words):
            return Guess(category, f"column name {name!r}")
    return None


def _is_email(value: str) -> bool:
    if "@" not in value or " " in value.strip():
        return False
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _is_phone(value: str) -> bool:
    if not re.fullmatch(r"[+()\d][\d .()/-]{7,20}", value.strip()):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, "FR"))
    except phonenumbers.NumberParseException:
        return False


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


@cache
def _first_names() -> frozenset[str]:
    from faker.providers.person.en_US import Provider as English
    from faker.providers.person.fr_FR import Provider as French

    names = [*French.first_names, *English.first_names]
    return frozenset(n.lower() for n in names)


def _is_person_name(value: str) -> bool:
    words = value.strip().split()
    return 1 <= len(words) <= 4 and bool(words) and words[0].lower().strip(",.") in _first_names() and all(
        w[:1].isupper() for w in words)


_ADDRESS = re.compile(r"^\s*\d+\s*(bis|ter)?[\s,]+(rue|avenue|av\.?|boulevard|bd|chemin|all[ée]e|place|impasse|"
                      r"route|quai|cours|square|street|st\.?|road|rd\.?|lane|drive|way|ave\.?)\b", re.IGNORECASE)


def _is_address(value: str) -> bool:
    return bool(_ADDRESS.match(value))


def _is_postcode(value: str) -> bool:
    return bool(re.fullmatch(r"\d{5}", value.strip()))


#: Value rules on text samples, most specific first.
_VALUE_RULES: list[tuple[Callable[[str], bool], str, str]] = [
    (_is_email, EMAIL, "email addresses"),
    (iban.is_valid, "user.financial.bank_account", "valid IBANs"),
    (nir.is_valid, "user.government_id.national_identification_number", "valid French NIRs"),
    (_is_ip, "user.device.ip_address", "IP addresses"),
    (_is_phone, PHONE, "phone numbers"),
    (_is_address, "user.contact.address.street", "street addresses"),
    (_is_postcode, "user.contact.address.postal_code", "French postcodes"),
    (_is_person_name, "user.name", "person names"),
]


def guess_from_values(values: Iterable[object], *, threshold: float = 0.8) -> Guess | None:
    """The category most sampled text values look like (at least ``threshold`` of them)."""
    texts = [v for v in values if isinstance(v, str) and v.strip()]
    if not texts:
        return None
    for check, category, what in _VALUE_RULES:
        matching = sum(1 for v in texts if check(v))
        if matching >= max(1, threshold * len(texts)):
            return Guess(category, f"{matching}/{len(texts)} sampled values are {what}")
    return None


def plausible_birth_dates(values: Sequence[object]) -> bool:
    """Whether sampled dates look like dates of birth (between 1900 and ten years ago)."""
    years = []
    for value in values:
        if isinstance(value, datetime | date):
            years.append(value.year)
        elif isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
            years.append(int(value[:4]))
    return bool(years) and all(1900 <= y <= date.today().year - 10 for y in years)


_STRONG = frozenset({EMAIL, PHONE, "user.device.ip_address", "user.financial.bank_account",
                     "user.government_id.national_identification_number"})


def guess(name: str, values: Sequence[object]) -> Guess | None:
    """Name and values together: the more precise wins; unmistakable values (emails, IBANs...) beat the name."""
    by_name = guess_from_name(name)
    if by_name and by_name.category == "user.demographic.date_of_birth" and values and \
            not plausible_birth_dates(values):
        by_name = None
    by_values = guess_from_values(values)
    if by_values is None or by_name is None:
        return by_values or by_name
    if by_name.category == by_values.category:
        return Guess(by_name.category, f"{by_name.reason}; {by_values.reason}")
    if by_values.category.startswith(by_name.category + "."):
        return by_values
    if by_name.category.startswith(by_values.category + ".") or (
            by_name.category == "user.contact.fax_number" and by_values.category == PHONE):
        return by_name
    if by_values.category in _STRONG:
        return Guess(by_values.category, f"{by_values.reason} ({by_name.reason} suggested {by_name.category})")
    return by_name
