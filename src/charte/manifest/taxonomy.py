"""Reference vocabularies: fideslang data categories, Art. 9 categories, EEA countries."""

from __future__ import annotations

from functools import cache

#: Taxonomy branches that are special categories under GDPR Art. 9 (health, biometrics, beliefs...).
SPECIAL_CATEGORY_PREFIXES = (
    "user.health_and_medical",
    "user.biometric",
    "user.authorization.biometric",
    "user.demographic.political_opinion",
    "user.demographic.race_ethnicity",
    "user.demographic.religious_belief",
    "user.demographic.sexual_orientation",
)

#: European Economic Area: the EU 27 plus Iceland, Liechtenstein and Norway (ISO 3166-1 alpha-2).
EEA_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
})

#: Art. 9(2) conditions that lift the prohibition on processing special categories.
ART9_CONDITIONS = {
    "explicit_consent": "9(2)(a)",
    "employment_social_security": "9(2)(b)",
    "vital_interests": "9(2)(c)",
    "non_profit_members": "9(2)(d)",
    "made_public_by_subject": "9(2)(e)",
    "legal_claims": "9(2)(f)",
    "substantial_public_interest": "9(2)(g)",
    "health_or_social_care": "9(2)(h)",
    "public_health": "9(2)(i)",
    "archiving_research_statistics": "9(2)(j)",
}


@cache
def data_category_keys() -> frozenset[str]:
    """Every data category key of the fideslang default taxonomy."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return frozenset(c.fides_key for c in DEFAULT_TAXONOMY.data_category)


def is_special_category(key: str) -> bool:
    """Whether a taxonomy key falls under GDPR Art. 9."""
    return any(key == p or key.startswith(p + ".") for p in SPECIAL_CATEGORY_PREFIXES)


def expand_countries(codes: list[str]) -> frozenset[str]:
    """Turn a list of ISO codes and the group name ``EEA`` into a set of country codes."""
    out: set[str] = set()
    for code in codes:
        out |= EEA_COUNTRIES if code.upper() == "EEA" else {code.upper()}
    return frozenset(out)
