"""Retention rules as the sweeps apply them: from the dataset annotations and the manifest's purposes, with the
legal holds that stop them.

A rule expires a collection's rows once a period has run from a timestamp field; the period is the annotation's,
else the retention period of a purpose of the manifest. A legal hold keeps rows (or fields) longer whatever the
rule says: invoices stay ten years after the end of the financial year they were issued in, even when the purpose
that collected them ended long before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from charte.datastores.annotations import Collection, DataField, Erasure, LegalHold, RetentionAction, RetentionRule
from charte.datastores.catalog import Catalog
from charte.datastores.graph import children_first
from charte.manifest.durations import Duration
from charte.manifest.models import Manifest

#: Purpose retention starts that run from the end of the financial year (taken as the calendar year).
FINANCIAL_YEAR_STARTS = frozenset({"end_of_financial_year", "end_of_year"})
#: Actions that remove rows from the collection.
DELETING_ACTIONS: frozenset[RetentionAction] = frozenset({"delete", "archive_then_delete"})


class RetentionConfigError(ValueError):
    """A retention rule cannot be applied as annotated (unknown field or purpose, no period, no primary key)."""


@dataclass(frozen=True)
class Boundary:
    """Rows whose timestamp is before this instant (or at it, when ``inclusive``) have expired."""

    value: datetime
    inclusive: bool


@dataclass(frozen=True)
class Expiry:
    """A period running from a timestamp field, or from the end of that field's financial year."""

    field: str
    period: Duration
    financial_year: bool = False

    def boundary(self, now: datetime) -> Boundary:
        """Which timestamps have expired at ``now``: never earlier than the period says."""
        if self.financial_year:
            # Year Y closes on 31 December; its rows expire once the period has run from that day.
            year = now.year
            while self.period.after(datetime(year, 12, 31, tzinfo=UTC)) > now:
                year -= 1
            return Boundary(datetime(year + 1, 1, 1, tzinfo=UTC), inclusive=False)
        # ``before`` clamps month ends (31 March minus one month is 28 February), so a row may be kept up to three
        # days longer than ``after`` would say, never shorter.
        return Boundary(self.period.before(now), inclusive=True)

    def describe(self) -> str:
        """``P10Y from the end of the financial year of issued_at`` or ``P25M from visited_at``."""
        start = f"the end of the financial year of {self.field}" if self.financial_year else self.field
        return f"{self.period} from {start}"


@dataclass(frozen=True)
class Hold:
    """A legal hold on a collection's rows (``fields`` empty) or on some of its fields."""

    purpose: str
    expiry: Expiry | None
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        """What keeps the rows, for plans and reports."""
        until = self.expiry.describe() if self.expiry else "no date annotated: kept as long as the row exists"
        return f"legal hold ({self.purpose}): {until}"


@dataclass(frozen=True)
class Rule:
    """One retention rule of one collection, resolved against the manifest."""

    system: str
    collection: str
    index: int
    action: RetentionAction
    expiry: Expiry
    source: str
    keys: tuple[str, ...]
    masks: tuple[tuple[str, Erasure], ...]
    archive: str | None
    holds: tuple[Hold, ...]

    @property
    def deletes(self) -> bool:
        """Whether the rule removes rows (rather than changing some of their fields)."""
        return self.action in DELETING_ACTIONS

    @property
    def label(self) -> str:
        """``shop.visits#1``: how plans, progress and errors name the rule."""
        return f"{self.system}.{self.collection}#{self.index + 1}"

    def describe(self) -> str:
        """``delete after P25M from visited_at (annotation)``."""
        return f"{self.action} after {self.expiry.describe()} ({self.source})"


def _purpose_expiry(manifest: Manifest, key: str, field: str, where: str) -> Expiry:
    purpose = manifest.purposes.get(key)
    if purpose is None:
        raise RetentionConfigError(f"{where}: unknown purpose {key!r}")
    retention = purpose.retention
    if retention is None or retention.period is None:
        raise RetentionConfigError(f"{where}: purpose {key!r} has no retention period")
    return Expiry(field, retention.period, retention.start in FINANCIAL_YEAR_STARTS)


def _rule_expiry(manifest: Manifest, catalog: Catalog, collection: Collection, rule: RetentionRule,
                 where: str) -> tuple[Expiry, str]:
    if rule.purpose is not None:
        expiry = _purpose_expiry(manifest, rule.purpose, rule.field, where)
        if rule.period is not None:
            expiry = Expiry(rule.field, rule.period, expiry.financial_year)
        return expiry, f"purpose {rule.purpose}"
    if rule.period is not None:
        return Expiry(rule.field, rule.period), "annotation"
    keys = [k for k in (collection.purposes or catalog.system.purposes) if k in manifest.purposes]
    dated = [k for k in keys if (r := manifest.purposes[k].retention) is not None and r.period is not None]
    if not dated:
        using = ", ".join(keys) or "none"
        raise RetentionConfigError(f"{where}: no period, and none of the purposes using it ({using}) has a retention "
                                   "period")
    # The data serves every purpose listed: it may be kept as long as the longest of them needs it.
    longest = max(dated, key=lambda k: _days(manifest, k))
    return _purpose_expiry(manifest, longest, rule.field, where), f"purpose {longest} (longest of {', '.join(dated)})"


def _days(manifest: Manifest, key: str) -> float:
    retention = manifest.purposes[key].retention
    return retention.period.approx_days() if retention is not None and retention.period is not None else 0.0


def _hold(manifest: Manifest, hold: LegalHold, fields: tuple[str, ...], where: str) -> Hold:
    if hold.since is None:
        return Hold(hold.purpose, None, fields)
    if hold.period is not None:
        purpose = manifest.purposes.get(hold.purpose)
        start = purpose.retention.start if purpose is not None and purpose.retention is not None else ""
        return Hold(hold.purpose, Expiry(hold.since, hold.period, start in FINANCIAL_YEAR_STARTS), fields)
    return Hold(hold.purpose, _purpose_expiry(manifest, hold.purpose, hold.since, where), fields)


def collection_holds(manifest: Manifest, name: str, collection: Collection) -> tuple[Hold, ...]:
    """Every legal hold of a collection: on its rows, then on its fields."""
    holds = []
    if collection.legal_hold is not None:
        holds.append(_hold(manifest, collection.legal_hold, (), f"legal hold of {name}"))
    for field_name, spec in collection.fields.items():
        if spec.legal_hold is not None:
            holds.append(_hold(manifest, spec.legal_hold, (field_name,), f"legal hold of {name}.{field_name}"))
    return tuple(holds)


def field_action(spec: DataField) -> Erasure | None:
    """What anonymising does to a field: its erasure annotation, else NULL for personal data, else nothing."""
    if spec.erasure is not None:
        return None if spec.erasure.action == "keep" else spec.erasure
    return Erasure(action="null") if spec.personal else None


def _masks(collection: Collection, rule: RetentionRule, keys: tuple[str, ...],
           where: str) -> tuple[tuple[str, Erasure], ...]:
    if rule.action in DELETING_ACTIONS:
        return ()
    if rule.fields:
        unknown = sorted(set(rule.fields) - set(collection.fields))
        if unknown:
            raise RetentionConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
        chosen = [(f, e) for f, e in rule.fields.items() if e.action != "keep"]
    elif rule.action == "pseudonymise":
        identities = {f for fields in collection.identity_fields.values() for f in fields}
        chosen = [(f, Erasure(action="pseudonym")) for f, spec in collection.fields.items()
                  if f in identities or (spec.erasure is not None and spec.erasure.action == "pseudonym")]
    else:
        # The timestamp stays (later rules, such as delete after 25 months, run from it), and so do the keys.
        chosen = [(f, action) for f, spec in collection.fields.items()
                  if f != rule.field and f not in keys and (action := field_action(spec)) is not None]
    if any(f in keys for f, _ in chosen):
        raise RetentionConfigError(f"{where}: primary key fields cannot be masked (rows are addressed by them)")
    if not chosen:
        raise RetentionConfigError(f"{where}: {rule.action} changes no field; list them under fields:")
    return tuple(chosen)


def _applies(hold: Hold, action: RetentionAction, masks: tuple[tuple[str, Erasure], ...]) -> bool:
    if not hold.fields or action in DELETING_ACTIONS:
        return True
    return any(f in hold.fields for f, _ in masks)


def collection_rules(manifest: Manifest, system: str, catalog: Catalog, name: str) -> list[Rule]:
    """The resolved retention rules of one collection, in the order annotated; raise :class:`RetentionConfigError`."""
    collection = catalog.collections[name]
    if collection.retention is None:
        return []
    keys = collection.keys
    holds = collection_holds(manifest, name, collection)
    rules = []
    for index, rule in enumerate(collection.retention.rules):
        where = f"retention rule {index + 1} of {system}.{name}"
        if rule.field not in collection.fields:
            raise RetentionConfigError(f"{where}: runs from {rule.field!r}, which is not an annotated field")
        if not keys:
            raise RetentionConfigError(f"{where}: {name} has no primary key in its annotations; sweeps page through "
                                       "rows by primary key")
        expiry, source = _rule_expiry(manifest, catalog, collection, rule, where)
        masks = _masks(collection, rule, keys, where)
        applying = tuple(h for h in holds if _applies(h, rule.action, masks))
        rules.append(Rule(system, name, index, rule.action, expiry, source, keys, masks, rule.archive, applying))
    # Plain deletes first: a row they remove needs no anonymising, and the end state is the same. Other rules keep
    # their written order (archiving after pseudonymising archives pseudonyms).
    return sorted(rules, key=lambda r: r.action != "delete")


def system_rules(manifest: Manifest, system: str, catalog: Catalog,
                 collections: Iterable[str] | None = None) -> list[Rule]:
    """Every rule of a system, children before parents so a child's own rules run before its parent's deletes."""
    names = [n for n in (collections or catalog.collections) if catalog.collections[n].retention is not None]
    ordered = children_first(names, catalog.links)
    return [rule for name in ordered for rule in collection_rules(manifest, system, catalog, name)]
