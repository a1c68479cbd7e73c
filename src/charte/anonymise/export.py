"""Anonymised exports of a collection: direct identifiers removed or pseudonymised, quasi-identifiers generalised,
and the file written only if the result is k-anonymous.

What happens to each column, first rule that applies:

1. the caller's choice: ``drop``, ``pseudonymise``, ``quasi`` (with a generalisation, or the annotation's);
2. an annotated generalisation (``generalise_date``, ``generalise_postcode``, ``age_band``, ``truncate_ip``):
   generalised, and a quasi-identifier;
3. keys, identity fields and references: removed (pseudonymised when the annotation says ``pseudonym``);
4. ``erasure: pseudonym``: pseudonymised; ``erasure: null`` or a mask: removed;
5. fields that name or reach a person (``user.name``, ``user.contact``, ``user.unique_id``, ``user.device``...):
   removed;
6. anything else is kept as it is.

This module reads connected systems, so :mod:`charte.anonymise` does not import it (the datastores import the
anonymise package).
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import column, select, table

from charte.anonymise.generalise import CannotGeneralise, age_band, generalise_date, generalise_postcode, truncate_ip
from charte.anonymise.kanonymity import KAnonymityReport, NotAnonymous, measure
from charte.anonymise.keys import Keyring, MissingPseudonymKey
from charte.anonymise.pseudonyms import pseudonym
from charte.datastores.annotations import Collection, DataField
from charte.datastores.catalog import ConnectedSystem
from charte.ledger.chain import Clock, utcnow
from charte.spreadsheets import formula_safe

Treatment = Literal["keep", "pseudonym", "generalise"]
#: Categories whose values name a person or lead straight to one: never exported as they are.
DIRECT_IDENTIFIER_CATEGORIES = ("user.name", "user.contact", "user.unique_id", "user.government_id", "user.device",
                                "user.account", "user.authorization", "user.biometric")
_GENERALISATIONS = frozenset({"generalise_date", "generalise_postcode", "age_band", "truncate_ip"})
#: Generalisations by the names the command line accepts.
ALIASES = {"month": "generalise_date:month", "year": "generalise_date:year", "department": "generalise_postcode",
           "departement": "generalise_postcode", "postcode": "generalise_postcode", "age": "age_band",
           "ip": "truncate_ip"}


class UnknownColumn(ValueError):
    """A column named in the options is not an annotated field of the collection."""


class UnknownGeneralisation(ValueError):
    """A quasi-identifier is given a generalisation Charte does not have."""


@dataclass(frozen=True)
class ExportColumn:
    """One column of the export and what is done to its values."""

    name: str
    treatment: Treatment
    generalisation: str | None = None
    quasi: bool = False

    def describe(self) -> str:
        """``postcode: generalise_postcode (quasi-identifier)``."""
        how = self.generalisation if self.treatment == "generalise" else self.treatment
        return f"{self.name}: {how}" + (" (quasi-identifier)" if self.quasi else "")


@dataclass(frozen=True)
class ExportPlan:
    """The exported columns in order, and the removed ones."""

    columns: tuple[ExportColumn, ...]
    removed: tuple[str, ...]

    @property
    def quasi_identifiers(self) -> tuple[str, ...]:
        """The columns k-anonymity is measured on."""
        return tuple(c.name for c in self.columns if c.quasi)


@dataclass(frozen=True)
class ExportReport:
    """What was written: rows, columns, and the k-anonymity measured."""

    path: Path
    plan: ExportPlan
    kanonymity: KAnonymityReport


def _normalise(spec: str | None) -> str | None:
    if spec is None or spec == "":
        return None
    name = ALIASES.get(spec, spec)
    base = name.split(":", 1)[0]
    if base not in _GENERALISATIONS and base != "keep":
        raise UnknownGeneralisation(f"unknown generalisation {spec!r}: month, year, department, age_band[:width], "
                                    "truncate_ip or keep")
    return name


def _annotated_generalisation(spec: DataField) -> str | None:
    erasure = spec.erasure
    if erasure is None or erasure.action not in _GENERALISATIONS:
        return None
    if erasure.action == "generalise_date":
        return f"generalise_date:{erasure.params.get('to', 'month')}"
    if erasure.action == "age_band" and "width" in erasure.params:
        return f"age_band:{erasure.params['width']}"
    return erasure.action


def _identifying(collection: Collection, name: str, spec: DataField) -> bool:
    identities = {f for fields in collection.identity_fields.values() for f in fields}
    if name in collection.keys or name in identities or spec.references:
        return True
    return any(c == p or c.startswith(p + ".") for c in spec.all_categories for p in DIRECT_IDENTIFIER_CATEGORIES)


def export_plan(collection: Collection, *, quasi: Mapping[str, str | None] | None = None,
                pseudonymise: Iterable[str] = (), drop: Iterable[str] = (),
                keyring: Keyring | None = None) -> ExportPlan:
    """Decide what happens to each annotated field of ``collection`` (see the module's rules)."""
    quasi = dict(quasi or {})
    pseudonymised, dropped = set(pseudonymise), set(drop)
    unknown = sorted((set(quasi) | pseudonymised | dropped) - set(collection.fields))
    if unknown:
        raise UnknownColumn(f"not a field of {collection.name}: {', '.join(unknown)}")
    if pseudonymised and keyring is None:
        raise MissingPseudonymKey("pseudonymised columns need CHARTE_PSEUDONYM_KEYS")
    columns: list[ExportColumn] = []
    removed: list[str] = []
    for name, spec in collection.fields.items():
        annotated = _annotated_generalisation(spec)
        wants_pseudonym = spec.erasure is not None and spec.erasure.action == "pseudonym"
        if name in dropped:
            removed.append(name)
        elif name in pseudonymised:
            columns.append(ExportColumn(name, "pseudonym"))
        elif name in quasi:
            how = _normalise(quasi[name]) or annotated or "keep"
            columns.append(ExportColumn(name, "keep", None, True) if how == "keep"
                           else ExportColumn(name, "generalise", how, True))
        elif annotated is not None:
            columns.append(ExportColumn(name, "generalise", annotated, True))
        elif wants_pseudonym and keyring is not None:
            columns.append(ExportColumn(name, "pseudonym"))
        elif _identifying(collection, name, spec) or wants_pseudonym or (
                spec.erasure is not None and spec.erasure.action in ("null", "mask", "fides")):
            removed.append(name)
        else:
            columns.append(ExportColumn(name, "keep"))
    return ExportPlan(tuple(columns), tuple(removed))


def _transform(column_spec: ExportColumn, keyring: Keyring | None, clock: Clock) -> Callable[[Any], Any]:
    if column_spec.treatment == "keep":
        return lambda v: v
    if column_spec.treatment == "pseudonym":
        if keyring is None:
            raise MissingPseudonymKey("pseudonymised columns need CHARTE_PSEUDONYM_KEYS")
        ring = keyring
        return lambda v: None if v is None else pseudonym(v, ring)
    name, _, param = (column_spec.generalisation or "").partition(":")
    if name == "generalise_date":
        to = param or "month"
        return lambda v: generalise_date(v, to)
    if name == "generalise_postcode":
        return generalise_postcode
    if name == "age_band":
        width, today = int(param or 10), clock().date()
        return lambda v: age_band(v, width, today=today)
    ipv4 = int(param) if param else 2
    return lambda v: truncate_ip(v, ipv4)


def _safe(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        try:
            return function(value)
        except CannotGeneralise:
            # A value with no generalised form would stand out (and identify): it is left empty.
            return None

    return apply


def export_anonymised(system: ConnectedSystem, collection: str, output: Path, *, k: int = 5,
                      quasi: Mapping[str, str | None] | None = None, pseudonymise: Iterable[str] = (),
                      drop: Iterable[str] = (), keyring: Keyring | None = None, clock: Clock = utcnow,
                      batch: int = 5000) -> ExportReport:
    """Write the anonymised CSV of ``collection``; raise :class:`NotAnonymous` (writing nothing) below ``k``."""
    if k < 1:
        raise ValueError("k must be at least 1")
    spec = system.catalog.collections.get(collection)
    if spec is None:
        raise UnknownColumn(f"system {system.key} has no annotated collection {collection!r}")
    plan = export_plan(spec, quasi=quasi, pseudonymise=pseudonymise, drop=drop, keyring=keyring)
    transforms = [_safe(_transform(c, keyring, clock)) for c in plan.columns]
    quasi_positions = [i for i, c in enumerate(plan.columns) if c.quasi]
    source = table(spec.table_name, *(column(c.name) for c in plan.columns),
                   schema=system.catalog.schemas.get(collection))
    # Keys are usually not exported; bare names still order the rows (the table is the only one queried).
    statement = select(*(source.c[c.name] for c in plan.columns)).select_from(source).order_by(
        *(column(key) for key in spec.keys))
    groups: Counter[tuple[Any, ...]] = Counter()
    output.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed only once k-anonymity holds: a refusal leaves no file, not even half.
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part", dir=output.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow([c.name for c in plan.columns])
            with system.engine.connect() as conn:
                for rows in conn.execution_options(yield_per=batch).execute(statement).partitions():
                    for row in rows:
                        values = [f(v) for f, v in zip(transforms, row, strict=True)]
                        groups[tuple(values[i] for i in quasi_positions)] += 1
                        writer.writerow([formula_safe(v) if isinstance(v, str) else v for v in values])
        quasi_names = plan.quasi_identifiers
        report = measure((dict(zip(quasi_names, key, strict=True)) for key, n in groups.items() for _ in range(n)),
                         quasi_names, k)
        if not report.ok:
            raise NotAnonymous(report)
        os.replace(temporary, output)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return ExportReport(output, plan, report)
