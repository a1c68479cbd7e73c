"""The manifest's shape: pydantic models for every promise a confidentiality policy makes."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from charte.manifest.durations import Duration, IsoDuration

Language = Literal["fr", "en"]
LegalBasis = Literal["consent", "contract", "legal_obligation", "legitimate_interest", "vital_interests",
                     "public_task"]
RecipientKind = Literal["processor", "partner", "authority", "joint_controller"]
SourceKind = Literal["provided", "collected_automatically", "partners", "publicly_available"]
CookieCategoryKey = Literal["necessary", "functional", "analytics", "advertising"]
RightKey = Literal[
    "information", "access", "rectification", "erasure", "restriction", "objection",
    "automated_decision", "portability", "complaint", "supervisory_authority", "withdraw_consent",
]

#: The eleven rights the reference policy lists, in its order.
RIGHTS: tuple[RightKey, ...] = (
    "information", "access", "rectification", "erasure", "restriction", "objection",
    "automated_decision", "portability", "complaint", "supervisory_authority", "withdraw_consent",
)


def _localise(value: object) -> object:
    # A bare string is the same text in every language (brand names, addresses).
    return {"*": value} if isinstance(value, str) else value


Localized = Annotated[dict[str, str], BeforeValidator(_localise)]


def tr(text: dict[str, str] | None, lang: str) -> str:
    """The text in ``lang``, else its language-neutral form, else empty."""
    if not text:
        return ""
    return text.get(lang) or text.get("*") or ""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Keyed(Model):
    """An entry of a mapping in the manifest; ``key`` is its mapping key."""

    key: str = ""


def _keyed_mapping(value: object) -> object:
    # Entries are written as ``key: {...}``; give each entry its key.
    if isinstance(value, dict):
        return {k: ({**v, "key": k} if isinstance(v, dict) else v) for k, v in value.items()}
    return value


class Contact(Model):
    email: str | None = None
    phone: str | None = None
    url: str | None = None
    form_url: str | None = None


class Controller(Model):
    name: str
    legal_name: str | None = None
    registration: str | None = Field(None, description="Company registration (SIREN/SIRET).")
    address: str
    country: str = Field(min_length=2, max_length=2)
    contact: Contact


class DPO(Model):
    name: str | None = None
    email: str
    address: str | None = None
    form_url: str | None = None
    cnil_designation: str | None = Field(None, description="CNIL designation number, when published.")
    organisation_choice: bool = False
    note: str | None = None


class SupervisoryAuthority(Model):
    name: str
    full_name: Localized
    address: str
    phone: str | None = None
    url: str
    complaint_url: str
    country: str = Field(min_length=2, max_length=2)


class PolicyVersion(Model):
    date: date
    summary: Localized


class Policy(Model):
    title: Localized
    url: str | None = None
    versions: list[PolicyVersion] = Field(min_length=1)

    @property
    def last_modified(self) -> date:
        """Date of the newest version: the policy's "last modification"."""
        return max(v.date for v in self.versions)


class Transfers(Model):
    allowed_countries: list[str] = Field(default_factory=lambda: ["EEA"], min_length=1)
    statement: Localized | None = None


class DataCategory(Keyed):
    name: Localized
    description: Localized | None = None
    special: bool = False
    custom: bool = False


class DataSource(Keyed):
    kind: SourceKind
    name: Localized
    description: Localized | None = None


class DataSubject(Keyed):
    name: Localized
    description: Localized | None = None


class Retention(Model):
    period: IsoDuration | None = None
    start: str = Field(description="The event the period runs from: collection, last_contact, end_of_contract...")
    legal_reference: str | None = None
    organisation_choice: bool = False
    note: Localized | None = None


class Purpose(Keyed):
    name: Localized
    description: Localized
    legal_basis: LegalBasis | None = None
    legal_reference: str | None = None
    legitimate_interest: Localized | None = Field(None, description="The interest pursued (Art. 13(1)(d)).")
    data_categories: list[str] = Field(default_factory=list)
    data_subjects: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    retention: Retention | None = None
    recipients: list[str] = Field(default_factory=list)
    objection: bool = False
    withdrawable: bool | None = None
    consent_lifetime: IsoDuration | None = None
    automated_decision: bool = False
    profiling: bool = False
    automated_logic: Localized | None = None
    art9_condition: str | None = None
    compatible_with: list[str] = Field(default_factory=list)
    organisation_choice: bool = False


class Recipient(Keyed):
    name: Localized
    kind: RecipientKind
    country: str = Field(min_length=2, max_length=2)
    description: Localized | None = None
    safeguards: str | None = None


class Cookie(Model):
    name: str
    lifetime: IsoDuration
    description: Localized | None = None


class CookieService(Keyed):
    name: str
    provider: str
    first_party: bool = Field(False, description="Run by the controller itself: no recipient receives the data.")
    country: str = Field(min_length=2, max_length=2)
    description: Localized
    cookies: list[Cookie] = Field(default_factory=list)
    privacy_url: str | None = None


class CookieCategory(Keyed):
    name: Localized
    description: Localized
    required: bool = False
    purposes: list[str] = Field(default_factory=list)
    services: Annotated[dict[str, CookieService], BeforeValidator(_keyed_mapping)] = Field(default_factory=dict)


class Cookies(Model):
    consent_lifetime: IsoDuration = Duration(months=6)
    categories: Annotated[dict[str, CookieCategory], BeforeValidator(_keyed_mapping)]


class Right(Keyed):
    article: str
    name: Localized
    description: Localized
    request_type: str | None = Field(None, description="Request type in the privacy center, if any.")


class SecurityMeasure(Keyed):
    name: Localized
    description: Localized | None = None


class System(Keyed):
    name: str
    url: str = Field(description="Connection URL, written as ${ENV_VAR}: never a secret in the manifest.")
    description: Localized | None = None
    purposes: list[str] = Field(default_factory=list)
    datasets: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Dataset annotations: {file: path} (relative to the manifest) or inline, in Charte's format or "
                    "Fides'; read and checked by charte.datastores.")


class Manifest(Model):
    charte: Literal[1] = Field(description="Manifest format version.")
    controller: Controller
    dpo: DPO
    supervisory_authority: SupervisoryAuthority
    policy: Policy
    languages: list[Language] = Field(min_length=1)
    default_language: Language
    transfers: Transfers = Field(default_factory=Transfers)
    data_categories: Annotated[dict[str, DataCategory], BeforeValidator(_keyed_mapping)]
    data_sources: Annotated[dict[str, DataSource], BeforeValidator(_keyed_mapping)]
    data_subjects: Annotated[dict[str, DataSubject], BeforeValidator(_keyed_mapping)]
    purposes: Annotated[dict[str, Purpose], BeforeValidator(_keyed_mapping)]
    recipients: Annotated[dict[str, Recipient], BeforeValidator(_keyed_mapping)] = Field(default_factory=dict)
    rights: Annotated[dict[str, Right], BeforeValidator(_keyed_mapping)]
    cookies: Cookies
    security_measures: Annotated[dict[str, SecurityMeasure], BeforeValidator(_keyed_mapping)] = Field(
        default_factory=dict
    )
    systems: Annotated[dict[str, System], BeforeValidator(_keyed_mapping)] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _default_language_is_offered(self) -> Manifest:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not one of languages")
        return self

    def purposes_by_basis(self, basis: LegalBasis) -> list[Purpose]:
        """The purposes resting on one legal basis, in manifest order."""
        return [p for p in self.purposes.values() if p.legal_basis == basis]

    def is_special(self, category_key: str) -> bool:
        """Whether a declared data category is an Art. 9 special category."""
        from charte.manifest.taxonomy import is_special_category

        declared = self.data_categories.get(category_key)
        return bool(declared and declared.special) or is_special_category(category_key)
