"""Lint rules: what a schema cannot say about a lawful, coherent policy."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date

from pydantic import BaseModel

from charte.manifest.models import RIGHTS, Manifest
from charte.manifest.problems import Path, Problem
from charte.manifest.taxonomy import ART9_CONDITIONS, EEA_COUNTRIES, data_category_keys, expand_countries

Rule = Callable[[Manifest], Iterator[Problem]]
RULES: list[Rule] = []

_ENV_REF = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*\}$")
_CREDENTIALS = re.compile(r"://[^/@\s]*:[^/@\s]*@")


def rule(func: Rule) -> Rule:
    """Register a lint rule."""
    RULES.append(func)
    return func


def lint(manifest: Manifest) -> list[Problem]:
    """Every problem every rule finds."""
    return [problem for check in RULES for problem in check(manifest)]


def _did_you_mean(key: str, known: Mapping[str, object] | frozenset[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unknown(kind: str, key: str, known: Mapping[str, object], path: Path) -> Problem:
    return Problem(path, f"unknown {kind} {key!r}{_did_you_mean(key, known)}", "unknown-reference")


@rule
def legal_basis_present(m: Manifest) -> Iterator[Problem]:
    for key, purpose in m.purposes.items():
        if purpose.legal_basis is None:
            yield Problem(("purposes", key), f"purpose {key!r} has no legal basis (Art. 6(1))", "legal-basis-missing")


@rule
def consent_withdrawable(m: Manifest) -> Iterator[Problem]:
    for key, purpose in m.purposes.items():
        if purpose.legal_basis == "consent" and purpose.withdrawable is False:
            yield Problem(
                ("purposes", key, "withdrawable"),
                f"purpose {key!r} rests on consent, which must be withdrawable at any time (Art. 7(3))",
                "consent-not-withdrawable",
            )


@rule
def transfers_allowed(m: Manifest) -> Iterator[Problem]:
    for i, code in enumerate(m.transfers.allowed_countries):
        if code.upper() != "EEA" and not re.fullmatch(r"[A-Za-z]{2}", code):
            yield Problem(("transfers", "allowed_countries", i),
                          f"{code!r} is neither an ISO 3166 country code nor EEA", "transfer-country-invalid")
    allowed = expand_countries(m.transfers.allowed_countries)
    where = ", ".join(sorted(m.transfers.allowed_countries))

    def check(path: Path, what: str, country: str) -> Iterator[Problem]:
        if country.upper() not in allowed:
            outside = "outside the EEA" if country.upper() not in EEA_COUNTRIES else "outside the allowed countries"
            yield Problem((*path, "country"),
                          f"{what} is in {country.upper()}, {outside} (transfers allowed to: {where})",
                          "transfer-not-allowed")

    for key, recipient in m.recipients.items():
        yield from check(("recipients", key), f"recipient {key!r}", recipient.country)
    for cat_key, category in m.cookies.categories.items():
        for svc_key, service in category.services.items():
            yield from check(("cookies", "categories", cat_key, "services", svc_key),
                             f"cookie service {svc_key!r} ({service.provider})", service.country)


@rule
def special_categories_have_art9_condition(m: Manifest) -> Iterator[Problem]:
    for key, purpose in m.purposes.items():
        if purpose.art9_condition is not None and purpose.art9_condition not in ART9_CONDITIONS:
            yield Problem(("purposes", key, "art9_condition"),
                          f"unknown Art. 9(2) condition {purpose.art9_condition!r}; one of: "
                          + ", ".join(ART9_CONDITIONS), "art9-condition-unknown")
        special = [c for c in purpose.data_categories if m.is_special(c)]
        if special and purpose.art9_condition is None:
            yield Problem(("purposes", key, "data_categories"),
                          f"purpose {key!r} processes special-category data ({', '.join(special)}) "
                          "without an Art. 9(2) condition (art9_condition)", "art9-condition-missing")


@rule
def retention_has_period(m: Manifest) -> Iterator[Problem]:
    for key, purpose in m.purposes.items():
        if purpose.retention is None:
            yield Problem(("purposes", key), f"purpose {key!r} has no retention (Art. 13(2)(a))",
                          "retention-period-missing")
        elif purpose.retention.period is None:
            yield Problem(("purposes", key, "retention"), f"retention of purpose {key!r} has no period",
                          "retention-period-missing")


@rule
def legitimate_interest_allows_objection(m: Manifest) -> Iterator[Problem]:
    for key, purpose in m.purposes.items():
        if purpose.legal_basis != "legitimate_interest":
            continue
        if not purpose.objection:
            yield Problem(("purposes", key, "objection"),
                          f"purpose {key!r} rests on legitimate interest, so the subject may object "
                          "(Art. 21): set objection: true", "objection-missing")
        if not purpose.legitimate_interest:
            yield Problem(("purposes", key),
                          f"purpose {key!r} rests on legitimate interest but does not state the interest "
                          "pursued (Art. 13(1)(d))", "legitimate-interest-undescribed", "warning")


@rule
def automated_decisions_explained(m: Manifest) -> Iterator[Problem]:
    for key, purpose in m.purposes.items():
        if (purpose.automated_decision or purpose.profiling) and not purpose.automated_logic:
            yield Problem(("purposes", key),
                          f"purpose {key!r} involves automated decisions or profiling but gives no "
                          "automated_logic (Art. 13(2)(f), 15(1)(h))", "automated-logic-missing")


@rule
def references_resolve(m: Manifest) -> Iterator[Problem]:
    tables: dict[str, tuple[str, Mapping[str, object]]] = {
        "data_categories": ("data category", m.data_categories),
        "data_subjects": ("data subject", m.data_subjects),
        "sources": ("data source", m.data_sources),
        "recipients": ("recipient", m.recipients),
        "compatible_with": ("purpose", m.purposes),
    }
    for key, purpose in m.purposes.items():
        for field, (kind, known) in tables.items():
            for i, ref in enumerate(getattr(purpose, field)):
                if ref not in known:
                    yield _unknown(kind, ref, known, ("purposes", key, field, i))
    for cat_key, category in m.cookies.categories.items():
        for i, ref in enumerate(category.purposes):
            if ref not in m.purposes:
                yield _unknown("purpose", ref, m.purposes, ("cookies", "categories", cat_key, "purposes", i))
    for sys_key, system in m.systems.items():
        for i, ref in enumerate(system.purposes):
            if ref not in m.purposes:
                yield _unknown("purpose", ref, m.purposes, ("systems", sys_key, "purposes", i))


@rule
def data_categories_known(m: Manifest) -> Iterator[Problem]:
    taxonomy = data_category_keys()
    for key, category in m.data_categories.items():
        if category.custom:
            if key in taxonomy:
                yield Problem(("data_categories", key, "custom"),
                              f"{key!r} is a fideslang taxonomy key; drop custom: true", "custom-shadows-taxonomy",
                              "warning")
        elif key not in taxonomy:
            yield Problem(("data_categories", key),
                          f"unknown data category {key!r}: not in the fideslang taxonomy"
                          f"{_did_you_mean(key, taxonomy)}; declare your own with custom: true",
                          "unknown-taxonomy-key")


@rule
def translations_complete(m: Manifest) -> Iterator[Problem]:
    languages = set(m.languages)

    def walk(value: object, path: Path) -> Iterator[Problem]:
        if path[:1] == ("systems",) and path[2:3] == ("datasets",):
            return  # dataset annotations are not texts of the policy (charte.datastores checks them)
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                yield from walk(getattr(value, name), (*path, name))
        elif isinstance(value, dict) and value and all(isinstance(v, str) for v in value.values()):
            if "*" in value:
                return
            if extra := sorted(set(value) - languages):
                yield Problem(path, f"text in undeclared language(s) {', '.join(extra)}", "translation-language")
            if missing := sorted(languages - set(value)):
                yield Problem(path, f"text missing in {', '.join(missing)}", "translation-missing")
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, (*path, i))

    yield from walk(m, ())


@rule
def all_rights_declared(m: Manifest) -> Iterator[Problem]:
    for key in m.rights:
        if key not in RIGHTS:
            yield Problem(("rights", key), f"unknown right {key!r}{_did_you_mean(key, dict.fromkeys(RIGHTS))}",
                          "unknown-reference")
    for key in RIGHTS:
        if key not in m.rights:
            yield Problem(("rights",), f"right {key!r} is not declared; the policy must state all eleven",
                          "right-missing")


@rule
def no_secrets(m: Manifest) -> Iterator[Problem]:
    for key, system in m.systems.items():
        if _CREDENTIALS.search(system.url):
            yield Problem(("systems", key, "url"),
                          f"system {key!r} has credentials written in its URL; use ${{ENV_VAR}} instead",
                          "secret-in-manifest")
        elif not _ENV_REF.match(system.url) and not system.url.startswith("sqlite"):
            yield Problem(("systems", key, "url"),
                          f"system {key!r} URL should be an ${{ENV_VAR}} reference", "system-url-literal", "warning")


@rule
def policy_versions_coherent(m: Manifest) -> Iterator[Problem]:
    seen: set[date] = set()
    for i, version in enumerate(m.policy.versions):
        if version.date in seen:
            yield Problem(("policy", "versions", i, "date"), f"two policy versions dated {version.date}",
                          "policy-version-duplicate")
        seen.add(version.date)


@rule
def cookie_categories_coherent(m: Manifest) -> Iterator[Problem]:
    for key, category in m.cookies.categories.items():
        path = ("cookies", "categories", key)
        if key == "necessary" and not category.required:
            yield Problem(path, "the necessary category is exempt from consent: set required: true",
                          "cookie-category-required")
        if key != "necessary" and category.required:
            yield Problem((*path, "required"), f"cookie category {key!r} needs consent; it cannot be required",
                          "cookie-category-required")
        if key not in ("necessary", "functional", "analytics", "advertising"):
            yield Problem(path, f"cookie category {key!r} is not one of necessary, functional, analytics, "
                          "advertising", "cookie-category-unknown", "warning")
        if not category.required:
            bases = {m.purposes[p].legal_basis for p in category.purposes if p in m.purposes}
            if "consent" not in bases:
                yield Problem(path, f"cookie category {key!r} needs a consent purpose in purposes "
                              "(ePrivacy art. 5(3), CNIL)", "cookie-consent-purpose")
