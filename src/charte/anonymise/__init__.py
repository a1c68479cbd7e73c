"""Anonymisation and pseudonymisation: keyed pseudonyms, masking, generalisation, k-anonymity."""

from charte.anonymise.generalise import CannotGeneralise, age_band, generalise_date, generalise_postcode, truncate_ip
from charte.anonymise.kanonymity import KAnonymityReport, NotAnonymous, measure, require_k_anonymous
from charte.anonymise.keys import (
    KEYS_VARIABLE,
    InvalidPseudonymKey,
    Keyring,
    MissingPseudonymKey,
    PseudonymKey,
)
from charte.anonymise.masking import (
    STRATEGIES,
    MaskingStrategy,
    UnknownStrategy,
    UnsupportedStrategy,
    from_fides_strategy,
    masking_strategy,
)
from charte.anonymise.pseudonyms import NotAPseudonym, key_id_of, pseudonym

__all__ = [
    "KEYS_VARIABLE",
    "STRATEGIES",
    "CannotGeneralise",
    "InvalidPseudonymKey",
    "KAnonymityReport",
    "Keyring",
    "MaskingStrategy",
    "MissingPseudonymKey",
    "NotAPseudonym",
    "NotAnonymous",
    "PseudonymKey",
    "UnknownStrategy",
    "UnsupportedStrategy",
    "age_band",
    "from_fides_strategy",
    "generalise_date",
    "generalise_postcode",
    "key_id_of",
    "masking_strategy",
    "measure",
    "pseudonym",
    "require_k_anonymous",
    "truncate_ip",
]
