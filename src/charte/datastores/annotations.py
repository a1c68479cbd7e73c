"""Dataset annotations: what each table and column of a connected system holds, and what a right does to it.

Charte's own format (a mapping of collections and fields) is read directly; Fides (fideslang) dataset YAML is
converted into it by :mod:`charte.datastores.fides`, so both end up as the same models.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel, model_validator

from charte.manifest.durations import IsoDuration
from charte.manifest.models import Localized

#: Masking strategies of :mod:`charte.anonymise` an erasure may apply to a field.
FIELD_STRATEGIES = ("null", "mask", "pseudonym", "truncate_ip", "generalise_date", "generalise_postcode", "age_band")
#: Field actions that are not masking strategies: leave the value as it is.
FIELD_ACTIONS = (*FIELD_STRATEGIES, "keep")
_ALIASES = {"nullify": "null", "null_rewrite": "null", "pseudonymise": "pseudonym", "pseudonymize": "pseudonym",
            "generalize_date": "generalise_date", "generalize_postcode": "generalise_postcode"}

CollectionErasure = Literal["delete", "mask", "keep"]
Direction = Literal["from", "to", "both", "none"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _erasure(value: object) -> object:
    # ``erasure: null`` is YAML's null: written explicitly, it means "set to NULL" (see Field._explicit_null).
    if isinstance(value, str):
        return {"action": _ALIASES.get(value, value)}
    if isinstance(value, dict):
        data = dict(value)
        if "mask" in data and "action" not in data and "strategy" not in data:
            return {"action": "mask", "params": {"value": data.pop("mask"), **data}}
        name = data.pop("action", None) or data.pop("strategy", None)
        params = data.pop("params", None) or data
        return {"action": _ALIASES.get(str(name), name), "params": params}
    return value


class Erasure(Model):
    """What erasure does to one field: a masking strategy with its parameters, or ``keep``."""

    action: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> Erasure:
        # "fides" carries a Fides masking strategy as written; it is mapped when the strategy is built.
        if self.action not in (*FIELD_ACTIONS, "fides"):
            raise ValueError(f"unknown erasure action {self.action!r}; one of: {', '.join(FIELD_ACTIONS)}")
        if self.action == "mask" and "value" not in self.params:
            raise ValueError("mask needs a value, e.g. erasure: {mask: '[effacé]'}")
        return self


FieldErasure = Annotated[Erasure, BeforeValidator(_erasure)]


class LegalHold(Model):
    """Data kept despite an erasure because a law requires it (e.g. invoices, 10 years)."""

    purpose: str = Field(description="The manifest purpose whose legal obligation requires keeping the data.")
    reason: Localized | None = None
    period: IsoDuration | None = Field(None, description="How long; defaults to the purpose's retention period.")
    since: str | None = Field(None, description="Timestamp field the period runs from (e.g. issued_at).")


def _references(value: object) -> object:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [{"field": item} if isinstance(item, str) else item for item in items]


class Reference(Model):
    """This field holds the value of another collection's field (a foreign key, declared or not).

    ``direction`` says how a request travels: ``from`` (default) finds rows of this collection from the
    referenced rows (parent to child, like a foreign key), ``to`` finds the referenced rows from this one, and
    ``both`` goes either way, whichever collection is reached first; ``none`` never travels (the link between two
    different people, e.g. a customer's sales representative) but still orders deletions.
    """

    field: str = Field(description="collection.field, or dataset.collection.field")
    direction: Direction = "from"

    @property
    def collection(self) -> str:
        """The referenced collection."""
        return self.field.rsplit(".", 2)[-2] if "." in self.field else ""

    @property
    def target(self) -> str:
        """The referenced field's name."""
        return self.field.rsplit(".", 1)[-1]

    @property
    def dataset(self) -> str | None:
        """The referenced dataset, when written ``dataset.collection.field``."""
        parts = self.field.split(".")
        return parts[0] if len(parts) >= 3 else None


def _field(value: object) -> object:
    # A bare string is the field's data category.
    if value is None:
        return {}
    if isinstance(value, str):
        return {"category": value}
    return value


class DataField(Model):
    """One column: its data category, whether it identifies the subject, and what erasure does to it."""

    name: str = ""
    description: str | None = None
    category: str | None = Field(None, description="Data category (fideslang key or a custom one).")
    categories: list[str] = Field(default_factory=list, description="Several data categories.")
    identity: str | None = Field(None, description="Identity kind this field matches: email, phone_number...")
    primary_key: bool = False
    references: Annotated[list[Reference], BeforeValidator(_references)] = Field(default_factory=list)
    erasure: FieldErasure | None = None
    legal_hold: LegalHold | None = None
    source: str | None = Field(None, description="Data source key of the manifest (portability).")

    @model_validator(mode="before")
    @classmethod
    def _explicit_null(cls, data: Any) -> Any:
        if isinstance(data, dict) and "erasure" in data and data["erasure"] is None:
            return {**data, "erasure": "null"}
        return data

    @cached_property
    def all_categories(self) -> tuple[str, ...]:
        """Every data category of the field."""
        found = [self.category] if self.category else []
        return tuple(dict.fromkeys([*found, *self.categories]))

    @cached_property
    def personal(self) -> bool:
        """Whether the field holds data about a person (a ``user.*`` or custom category)."""
        return any(not c.startswith("system.") for c in self.all_categories)


class RestrictionFlag(Model):
    """A column the organisation's applications read to stop processing a row (Art. 18)."""

    column: str
    value: Any = True


#: What a retention rule does to expired rows (``mask`` is read as ``anonymise``).
RetentionAction = Literal["delete", "anonymise", "pseudonymise", "archive_then_delete"]
_RETENTION_ALIASES = {"mask": "anonymise", "anonymize": "anonymise", "pseudonymize": "pseudonymise",
                      "pseudonym": "pseudonymise", "archive": "archive_then_delete"}


def _retention_action(value: object) -> object:
    return _RETENTION_ALIASES.get(value, value) if isinstance(value, str) else value


def _rule_fields(value: object) -> object:
    # ``ip: null`` in YAML means "set to NULL", as for a field's erasure.
    if isinstance(value, dict):
        return {k: "null" if v is None else v for k, v in value.items()}
    return value


class RetentionRule(Model):
    """When rows expire, for the retention sweeps: a timestamp field, a period and an action."""

    field: str = Field(description="Timestamp field the period runs from.")
    period: IsoDuration | None = Field(None, description="Default: the retention period of `purpose`, else the "
                                                         "longest one of the collection's purposes.")
    purpose: str | None = Field(None, description="Manifest purpose whose retention period (and start) applies.")
    action: Annotated[RetentionAction, BeforeValidator(_retention_action)] = "delete"
    fields: Annotated[dict[str, FieldErasure], BeforeValidator(_rule_fields)] = Field(
        default_factory=dict, description="anonymise/pseudonymise: per-field masking (default: each field's erasure).")
    archive: str | None = Field(None, description="archive_then_delete: the table (same database) rows are copied "
                                                  "to before they are deleted.")

    @model_validator(mode="after")
    def _archive_named(self) -> RetentionRule:
        if self.action == "archive_then_delete" and not self.archive:
            raise ValueError("archive_then_delete needs the archive table: archive: <table>")
        return self


class RetentionRules(RootModel[Annotated[tuple[RetentionRule, ...], Field(min_length=1)]]):
    """A collection's retention: one rule or several (e.g. truncate IPs after 13 months, delete after 25)."""

    model_config = ConfigDict(frozen=True)

    @property
    def rules(self) -> tuple[RetentionRule, ...]:
        """Every rule, in the order written."""
        return self.root

    @property
    def field(self) -> str:
        """The first rule's timestamp field (what a single-rule annotation reads)."""
        return self.root[0].field


def _retention_rules(value: object) -> object:
    if value is None or isinstance(value, list | tuple | RetentionRules):
        return value
    return [value]


def _named_fields(value: object) -> object:
    if isinstance(value, dict):
        named = {}
        for key, spec in value.items():
            spec = _field(spec)
            named[key] = {**spec, "name": key} if isinstance(spec, dict) else spec
        return named
    return value


class Collection(Model):
    """A table: its fields, keys, and what erasure and restriction do to its rows."""

    name: str = ""
    table: str | None = Field(None, description="Table name when it differs from the collection name.")
    schema_: str | None = Field(None, alias="schema")
    description: str | None = None
    purposes: list[str] | None = Field(None, description="Purposes using this collection (default: the system's).")
    primary_key: list[str] = Field(default_factory=list)
    identities: dict[str, str] = Field(default_factory=dict, description="Identity kind -> field, e.g. email: mail.")
    erasure: CollectionErasure = Field("mask", description="delete rows, mask fields (each field's action), keep.")
    legal_hold: LegalHold | None = None
    restriction: RestrictionFlag | None = None
    retention: Annotated[RetentionRules | None, BeforeValidator(_retention_rules)] = Field(
        None, description="One retention rule or a list of them.")
    skip: bool = Field(False, description="Never traversed (Fides skip_processing).")
    fields: Annotated[dict[str, DataField], BeforeValidator(_named_fields)] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def table_name(self) -> str:
        """The table's name in the database."""
        return self.table or self.name

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """Primary key fields: declared on the collection, else marked on fields."""
        return tuple(self.primary_key) or tuple(n for n, f in self.fields.items() if f.primary_key)

    @cached_property
    def identity_fields(self) -> dict[str, tuple[str, ...]]:
        """Identity kind -> the fields matching it, from the fields and the collection's ``identities``."""
        found: dict[str, list[str]] = {}
        for name, spec in self.fields.items():
            if spec.identity:
                found.setdefault(spec.identity, []).append(name)
        for kind, name in self.identities.items():
            if name not in found.setdefault(kind, []):
                found[kind].append(name)
        return {kind: tuple(names) for kind, names in found.items()}


def _collections(value: object) -> object:
    if isinstance(value, dict):
        return {k: {**(v or {}), "name": k} if isinstance(v, dict) or v is None else v for k, v in value.items()}
    return value


class Dataset(Model):
    """The annotations of one database (or schema) of a system."""

    key: str = ""
    name: str | None = None
    description: str | None = None
    schema_: str | None = Field(None, alias="schema")
    collections: Annotated[dict[str, Collection], BeforeValidator(_collections)] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
