"""Approximate numbers of people and records concerned, counted in the affected collections of connected systems.

Art. 33(3)(a) asks for the approximate number of data subjects and of records. Charte counts the rows of the
collections the breach exposed: every row is a record; rows of a collection holding one row per person (it has an
identity field in the dataset annotations) also count people. People present in several such collections are
counted once per collection, so the number of people is an upper bound.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, column, create_engine, func, inspect, select, table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import ColumnClause, TableClause

from charte.breaches.facts import AffectedCollection, BreachFacts
from charte.manifest.models import Manifest

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CountingError(Exception):
    """Rows could not be counted; the message names the system and collection, never credentials."""


class SystemNotConfigured(CountingError):
    """The system is not declared in the manifest, or its URL refers to an unset environment variable."""


class CollectionNotFound(CountingError):
    """The system has no table by that name."""


class RowCounter(Protocol):
    """Counts the rows of one collection of one connected system."""

    def __call__(self, system_key: str, collection: str) -> int:
        """The number of rows of ``collection`` in ``system_key``."""
        ...


def resolve_system_url(template: str, environ: Mapping[str, str]) -> str:
    """A system URL with its ``${ENV_VAR}`` references replaced; :class:`SystemNotConfigured` if one is unset."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise SystemNotConfigured(f"environment variable {name} is not set")
        return environ[name]

    return _ENV_REF.sub(value, template)


def system_environment(home: Path) -> dict[str, str]:
    """Where system URLs are resolved: the workspace's ``.env``, overridden by the process environment."""
    from charte.datastores.environment import home_environ

    return home_environ(home)


def _split(collection: str) -> tuple[str | None, str]:
    schema, dot, name = collection.rpartition(".")
    return (schema, name) if dot else (None, collection)


class SystemDatabases:
    """The databases of the manifest's systems, one engine each, opened on first use and closed together."""

    def __init__(self, urls: Mapping[str, str] | None = None, *, templates: Mapping[str, str] | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        # ``urls`` are ready to use; ``templates`` are manifest URLs whose ${ENV_VAR} are resolved on first use,
        # so a system that is never read needs no configuration.
        self._urls = dict(urls or {})
        self._templates = dict(templates or {})
        self._environ = os.environ if environ is None else environ
        self._engines: dict[str, Engine] = {}

    @classmethod
    def from_manifest(cls, manifest: Manifest, environ: Mapping[str, str] | None = None) -> SystemDatabases:
        """The manifest's systems, their URLs resolved from ``environ`` (default: the process environment)."""
        return cls(templates={key: system.url for key, system in manifest.systems.items()}, environ=environ)

    def engine(self, system_key: str) -> Engine:
        """The engine of one system; :class:`SystemNotConfigured` when it is unknown or its URL unresolved."""
        if system_key in self._engines:
            return self._engines[system_key]
        if system_key in self._urls:
            url = self._urls[system_key]
        elif system_key in self._templates:
            try:
                url = resolve_system_url(self._templates[system_key], self._environ)
            except SystemNotConfigured as exc:
                raise SystemNotConfigured(f"system {system_key!r}: {exc}") from None
        else:
            raise SystemNotConfigured(f"system {system_key!r} is not declared in the manifest")
        engine = create_engine(url, pool_pre_ping=True)
        self._engines[system_key] = engine
        return engine

    def _table(self, system_key: str, collection: str) -> tuple[Engine, TableClause]:
        engine = self.engine(system_key)
        schema, name = _split(collection)
        if not inspect(engine).has_table(name, schema=schema):
            raise CollectionNotFound(f"system {system_key!r} has no collection {collection!r}")
        return engine, table(name, schema=schema)

    def count_rows(self, system_key: str, collection: str) -> int:
        """``SELECT COUNT(*) FROM collection`` in the system's database (a :class:`RowCounter`)."""
        try:
            engine, found = self._table(system_key, collection)
            with engine.connect() as connection:
                return int(connection.execute(select(func.count()).select_from(found)).scalar_one())
        except SQLAlchemyError as exc:
            # The driver's message may quote the URL: name the system and the error class only.
            raise CountingError(f"system {system_key!r}: cannot count {collection!r} "
                                f"({exc.__class__.__name__})") from None

    def distinct_values(self, system_key: str, collection: str, field: str) -> list[str]:
        """The distinct non-empty values of one field (an identity such as the email), sorted."""
        try:
            engine, found = self._table(system_key, collection)
            columnar: ColumnClause[Any] = column(field)
            query = (select(columnar).select_from(found).where(columnar.is_not(None)).distinct()
                     .order_by(columnar))
            with engine.connect() as connection:
                return [str(v) for v in connection.execute(query).scalars() if str(v).strip()]
        except SQLAlchemyError as exc:
            raise CountingError(f"system {system_key!r}: cannot read {collection}.{field} "
                                f"({exc.__class__.__name__})") from None

    def close(self) -> None:
        """Dispose of the engines opened so far."""
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    def __enter__(self) -> SystemDatabases:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Estimate:
    """Rows counted per collection, and the approximate numbers of people and records they give."""

    per_collection: tuple[tuple[AffectedCollection, int], ...]

    @property
    def records(self) -> int:
        """Every row of every affected collection."""
        return sum(rows for _, rows in self.per_collection)

    @property
    def subjects(self) -> int:
        """Rows of the collections that hold one row per person (an upper bound of the people concerned)."""
        return sum(rows for collection, rows in self.per_collection if collection.holds_subjects)


def estimate_counts(collections: Iterable[AffectedCollection], count_rows: RowCounter) -> Estimate:
    """Count the rows of each affected collection once (duplicates ignored)."""
    unique = list(dict.fromkeys(collections))
    return Estimate(tuple((c, count_rows(c.system, c.collection)) for c in unique))


def complete_counts(facts: BreachFacts, count_rows: RowCounter) -> BreachFacts:
    """The facts with counted numbers when collections are named and no number was declared."""
    if not facts.collections or facts.subjects_count is not None or facts.records_count is not None:
        return facts
    estimate = estimate_counts(facts.collections, count_rows)
    subjects = estimate.subjects if any(c.holds_subjects for c in facts.collections) else None
    return facts.with_counts(subjects, estimate.records, "counted")
