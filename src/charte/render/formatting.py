"""Human formatting of dates, durations, legal bases and countries, independent of the system locale."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from charte.manifest.durations import Duration
from charte.manifest.models import LegalBasis, Purpose, Retention, tr
from charte.manifest.taxonomy import ART9_CONDITIONS
from charte.render.locales import (
    ART9_NAMES,
    COUNTRIES,
    EEA_NAME,
    GDPR,
    LANGUAGES,
    LEGAL_BASES,
    MONTHS,
    RETENTION_START_FALLBACK,
    RETENTION_STARTS,
    SESSION,
    UNITS,
    Lang,
    text,
)

_SUB_POINT = re.compile(r"\((\w+)\)")


def language(lang: str) -> Lang:
    """``lang`` as a supported language, or :class:`ValueError`."""
    for supported in LANGUAGES:
        if lang == supported:
            return supported
    raise ValueError(f"unsupported language {lang!r}; one of: {', '.join(LANGUAGES)}")


def format_date(day: date, lang: str) -> str:
    """A date as written in prose: "22 janvier 2020", "1er mai 2020", "22 January 2020"."""
    lg = language(lang)
    number = "1er" if lg == "fr" and day.day == 1 else str(day.day)
    return f"{number} {MONTHS[lg][day.month - 1]} {day.year}"


def join_words(items: Iterable[str], lang: str) -> str:
    """Items joined as in a sentence: "a, b et c" / "a, b and c"."""
    words = [i for i in items if i]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {text('and', language(lang))} {words[-1]}"


def format_duration(duration: Duration, lang: str) -> str:
    """An ISO duration in words: P3Y → "3 ans", P13M → "13 mois", PT30M → "30 minutes"."""
    lg = language(lang)
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    amounts = {"years": duration.years, "months": duration.months, "days": duration.days,
               "hours": hours, "minutes": minutes, "seconds": seconds}
    parts = []
    for unit, amount in amounts.items():
        if amount:
            singular, plural = UNITS[lg][unit]
            # French keeps the singular for 0 and 1, English only for 1.
            one = amount <= 1 if lg == "fr" else amount == 1
            parts.append(f"{amount} {singular if one else plural}")
    return join_words(parts, lg) if parts else SESSION[lg]


def gdpr_article(article: str, lang: str) -> str:
    """A GDPR article reference: "12(4)" → "art. 12.4 RGPD" / "GDPR Art. 12(4)"."""
    lg = language(lang)
    # French legal writing numbers sub-points with dots rather than brackets.
    written = _SUB_POINT.sub(r".\1", article) if lg == "fr" else article
    return GDPR[lg].format(article=written)


def legal_basis_name(basis: LegalBasis, lang: str) -> str:
    """The name of a legal basis: "Contrat", "Legitimate interest"."""
    return LEGAL_BASES[basis][1][language(lang)]


def legal_basis_label(basis: LegalBasis, lang: str) -> str:
    """A legal basis with its article: "Contrat (art. 6.1.b RGPD)" / "Contract (GDPR Art. 6(1)(b))"."""
    point = LEGAL_BASES[basis][0]
    return f"{legal_basis_name(basis, lang)} ({gdpr_article(f'6(1)({point})', lang)})"


def art9_label(condition: str, lang: str) -> str:
    """An Art. 9(2) condition in words with its article: "consentement explicite (art. 9.2.a RGPD)"."""
    lg = language(lang)
    names = ART9_NAMES.get(condition)
    name = names[lg] if names else condition.replace("_", " ")
    article = ART9_CONDITIONS.get(condition)
    return f"{name} ({gdpr_article(article, lg)})" if article else name


def country_name(code: str, lang: str) -> str:
    """A country's name from its ISO code ("FR" → "France"); ``EEA`` names the European Economic Area."""
    lg = language(lang)
    upper = code.upper()
    if upper == "EEA":
        return EEA_NAME[lg]
    names = COUNTRIES.get(upper)
    return names[lg] if names else upper


def countries_label(codes: Iterable[str], lang: str) -> str:
    """Several countries in words: "Espace économique européen (EEE) et Suisse"."""
    return join_words((country_name(c, lang) for c in codes), lang)


def retention_period(retention: Retention, lang: str) -> str:
    """How long and from when: "3 ans à compter du dernier contact" / "3 years from last contact"."""
    lg = language(lang)
    start = RETENTION_STARTS.get(retention.start, {}).get(lg) or RETENTION_START_FALLBACK[lg].format(
        event=retention.start.replace("_", " ")
    )
    if retention.period is None:
        return start
    return f"{format_duration(retention.period, lg)} {start}"


def retention_text(retention: Retention, lang: str) -> str:
    """The retention in one line: period, legal reference, organisation's choice marker and note."""
    lg = language(lang)
    parts = [retention_period(retention, lg), retention.legal_reference or ""]
    if retention.organisation_choice:
        parts.append(text("organisation_choice", lg))
    parts.append(tr(retention.note, lg))
    return " — ".join(p for p in parts if p)


def automation_label(purpose: Purpose, lang: str) -> str:
    """What automated processing a purpose involves: "profilage", "profiling and automated decision", or ""."""
    lg = language(lang)
    kinds = [("automated.profiling", purpose.profiling), ("automated.decision", purpose.automated_decision)]
    return join_words((text(key, lg) for key, present in kinds if present), lg)
