"""What the controller documents about a breach (Art. 33(3) and (5)), and the checks every version must pass."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final, Literal, get_args

from charte.ledger import canonical_json
from charte.manifest.models import Manifest

Nature = Literal["confidentiality", "integrity", "availability"]
RiskLevel = Literal["none", "risk", "high"]
Art34Exception = Literal["a", "b", "c"]
CountsMethod = Literal["declared", "counted"]

#: The three kinds of breach the EDPB guidelines name, in their order.
NATURES: Final[tuple[Nature, ...]] = get_args(Nature)
#: No risk (documented only), a risk (notify the authority), a high risk (also tell the people concerned).
RISK_LEVELS: Final[tuple[RiskLevel, ...]] = get_args(RiskLevel)
#: Art. 34(3): (a) data unintelligible (encryption), (b) later measures removed the high risk,
#: (c) individual communication would need disproportionate effort (a public communication instead).
ART34_EXCEPTIONS: Final[tuple[Art34Exception, ...]] = get_args(Art34Exception)
#: Free texts that the communication to people may carry in another language than the one they were written in.
TRANSLATABLE: Final[tuple[str, ...]] = ("title", "description", "consequences", "measures_taken",
                                        "measures_planned", "subject_advice")
#: An awareness time this far in the future is a typing error, not clock drift.
CLOCK_TOLERANCE: Final = timedelta(minutes=5)


class InvalidBreach(ValueError):
    """The breach as described cannot be recorded; the message says which field and why."""


@dataclass(frozen=True)
class AffectedCollection:
    """A collection (table) of a connected system whose rows the breach exposed."""

    system: str
    collection: str
    #: One row per person (customers, candidates...): its rows count people as well as records.
    holds_subjects: bool = False

    @property
    def label(self) -> str:
        """``system/collection``, as typed in forms and on the command line."""
        return f"{self.system}/{self.collection}"

    @classmethod
    def parse(cls, text: str, *, holds_subjects: bool = False) -> AffectedCollection:
        """``system/collection`` (the collection may be schema-qualified: ``erp/sales.customers``)."""
        system, sep, collection = text.strip().partition("/")
        if not sep or not system.strip() or not collection.strip():
            raise InvalidBreach(f"collection {text.strip()!r} should be written system/collection")
        return cls(system.strip(), collection.strip(), holds_subjects)


@dataclass(frozen=True)
class BreachFacts:
    """One version of what is known about a breach; a correction is recorded as a new version."""

    title: str
    aware_at: datetime
    nature: tuple[Nature, ...]
    risk: RiskLevel
    risk_reasoning: str
    occurred_at: datetime | None = None
    description: str = ""
    systems: tuple[str, ...] = ()
    other_systems: str = ""
    data_categories: tuple[str, ...] = ()
    data_subjects: tuple[str, ...] = ()
    collections: tuple[AffectedCollection, ...] = ()
    subjects_count: int | None = None
    records_count: int | None = None
    counts_method: CountsMethod = "declared"
    consequences: str = ""
    measures_taken: str = ""
    measures_planned: str = ""
    subject_advice: str = ""
    art34_exception: Art34Exception | None = None
    art34_reasoning: str = ""
    text_language: str = "fr"
    translations: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def notification_required(self) -> bool:
        """Art. 33(1): the authority is notified unless the breach is unlikely to result in a risk."""
        return self.risk != "none"

    @property
    def subject_communication_required(self) -> bool:
        """Art. 34(1) and (3): high risk and no exception → each person concerned is told."""
        return subject_communication_required(self.risk, self.art34_exception)

    def text(self, name: str, lang: str) -> str:
        """A free text in ``lang`` when translated, else as written."""
        if lang != self.text_language:
            translated = self.translations.get(lang, {}).get(name, "").strip()
            if translated:
                return translated
        value: str = getattr(self, name)
        return value

    def with_counts(self, subjects: int | None, records: int | None, method: CountsMethod) -> BreachFacts:
        """The same facts with approximate numbers of people and records."""
        return replace(self, subjects_count=subjects, records_count=records, counts_method=method)

    def as_json(self) -> dict[str, object]:
        """Plain JSON values (instants in ISO 8601 UTC), as hashed and stored."""
        data = asdict(self)
        data["aware_at"] = self.aware_at.isoformat()
        data["occurred_at"] = self.occurred_at.isoformat() if self.occurred_at else None
        data["collections"] = [asdict(c) for c in self.collections]
        for key in ("nature", "systems", "data_categories", "data_subjects"):
            data[key] = list(data[key])
        return data

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: the ledger proves the content without holding the free texts."""
        return hashlib.sha256(canonical_json(self.as_json()).encode()).hexdigest()


def subject_communication_required(risk: RiskLevel, exception: Art34Exception | None) -> bool:
    """Art. 34: people are told when the risk to them is high, unless an exception of Art. 34(3) applies."""
    return risk == "high" and exception is None


def _unknown(keys: tuple[str, ...], known: set[str], what: str) -> None:
    missing = [k for k in keys if k not in known]
    if missing:
        raise InvalidBreach(f"unknown {what}: {', '.join(missing)} (declare it in the manifest first)")


def check_facts(facts: BreachFacts, manifest: Manifest, now: datetime) -> None:
    """Raise :class:`InvalidBreach` unless the facts are complete enough to be documented and consistent."""
    if not facts.title.strip():
        raise InvalidBreach("a breach needs a short title")
    if len(facts.title) > 200:
        raise InvalidBreach("the title is limited to 200 characters")
    for name, instant in (("aware_at", facts.aware_at), ("occurred_at", facts.occurred_at)):
        if instant is not None and instant.tzinfo is None:
            raise InvalidBreach(f"{name} has no timezone")
    if facts.aware_at > now + CLOCK_TOLERANCE:
        raise InvalidBreach("the time of awareness is in the future")
    if facts.occurred_at is not None and facts.occurred_at > facts.aware_at:
        raise InvalidBreach("the breach cannot have occurred after the controller became aware of it")
    if not facts.nature:
        raise InvalidBreach("say whether the breach affects confidentiality, integrity or availability")
    if set(facts.nature) - set(NATURES):
        raise InvalidBreach(f"nature must be among {', '.join(NATURES)}")
    if facts.risk not in RISK_LEVELS:
        raise InvalidBreach(f"risk must be one of {', '.join(RISK_LEVELS)}")
    if not facts.risk_reasoning.strip():
        raise InvalidBreach("the risk level needs its reasoning (Art. 33(5): the facts and the decision)")
    if facts.art34_exception is not None:
        if facts.art34_exception not in ART34_EXCEPTIONS:
            raise InvalidBreach(f"the Art. 34(3) exception must be one of {', '.join(ART34_EXCEPTIONS)}")
        if facts.risk != "high":
            raise InvalidBreach("an Art. 34(3) exception only applies to a high risk")
        if not facts.art34_reasoning.strip():
            raise InvalidBreach("an Art. 34(3) exception needs its justification")
    for name, count in (("subjects_count", facts.subjects_count), ("records_count", facts.records_count)):
        if count is not None and count < 0:
            raise InvalidBreach(f"{name} cannot be negative")
    if facts.text_language not in manifest.languages:
        raise InvalidBreach(f"text_language {facts.text_language!r} is not a language of the manifest")
    _unknown(facts.systems, set(manifest.systems), "system")
    _unknown(tuple(dict.fromkeys(c.system for c in facts.collections)), set(manifest.systems), "system")
    _unknown(facts.data_categories, set(manifest.data_categories), "data category")
    _unknown(facts.data_subjects, set(manifest.data_subjects), "category of data subjects")
    unknown_languages = set(facts.translations) - set(manifest.languages)
    if unknown_languages:
        raise InvalidBreach(f"translations into undeclared languages: {', '.join(sorted(unknown_languages))}")
    for texts in facts.translations.values():
        stray = set(texts) - set(TRANSLATABLE)
        if stray:
            raise InvalidBreach(f"only these texts can be translated: {', '.join(TRANSLATABLE)}")
