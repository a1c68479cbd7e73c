"""A system ready to execute requests: its annotations, reference graph, tables and cached statements."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine

from charte.datastores.annotations import Collection
from charte.datastores.checks import validate_datasets
from charte.datastores.connect import display_url, engine_for, resolve_url
from charte.datastores.graph import Link, TraversalPlan, links_of, plan_traversal
from charte.datastores.loading import DatasetError, SystemAnnotations, manifest_lines
from charte.datastores.purposes import FieldInfo, field_info
from charte.manifest.models import Manifest, System

T = TypeVar("T")


@dataclass(eq=False)
class Catalog:
    """Everything about one system's annotations that does not change between requests."""

    system: System
    collections: dict[str, Collection]
    links: list[Link]
    fields: dict[str, dict[str, FieldInfo]]
    schemas: dict[str, str | None]
    _plans: dict[frozenset[str], TraversalPlan] = field(default_factory=dict, repr=False)
    _cache: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, manifest: Manifest, system: System, annotations: SystemAnnotations) -> Catalog:
        """The catalog of ``system`` from its annotations and the manifest's purposes."""
        collections: dict[str, Collection] = {}
        schemas: dict[str, str | None] = {}
        for name, (collection, loaded) in annotations.collections.items():
            collections[name] = collection
            schemas[name] = collection.schema_ or loaded.dataset.schema_
        fields = {name: {f: field_info(manifest, system, c, spec) for f, spec in c.fields.items()}
                  for name, c in collections.items()}
        return cls(system, collections, links_of(collections, annotations.dataset_keys), fields, schemas)

    def plan(self, identity_kinds: Iterable[str]) -> TraversalPlan:
        """The traversal for a subject known by these identity kinds (computed once per set of kinds)."""
        kinds = frozenset(identity_kinds)
        plan = self._plans.get(kinds)
        if plan is None:
            plan = self._plans[kinds] = plan_traversal(self.collections, self.links, kinds)
        return plan

    def cached(self, key: Hashable, build: Callable[[], T]) -> T:
        """A statement (or anything) built once per key: requests reuse it and SQLAlchemy's compiled cache."""
        try:
            return self._cache[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._cache[key] = build()
            return value

    def links_to(self, parent: str) -> tuple[Link, ...]:
        """References pointing at ``parent``."""
        return self.cached(("links_to", parent), lambda: tuple(link for link in self.links if link.parent == parent))


@dataclass(eq=False)
class ConnectedSystem:
    """A system of the manifest with its resolved URL and catalog."""

    key: str
    name: str
    url: str = field(repr=False)
    catalog: Catalog

    @property
    def engine(self) -> Engine:
        """The pooled engine of this system."""
        return engine_for(self.url)

    @cached_property
    def display_url(self) -> str:
        """The URL without its password."""
        return display_url(self.url)


def connect_systems(manifest: Manifest, annotations: Mapping[str, SystemAnnotations], *,
                    environ: Mapping[str, str] | None = None,
                    only: Iterable[str] | None = None) -> dict[str, ConnectedSystem]:
    """Systems that have annotations, ready to execute requests (URLs resolved from ``environ``)."""
    wanted = set(only) if only is not None else None
    systems = {}
    for key, system in manifest.systems.items():
        if (wanted is not None and key not in wanted) or not annotations.get(key, SystemAnnotations(key, ())).datasets:
            continue
        catalog = Catalog.build(manifest, system, annotations[key])
        systems[key] = ConnectedSystem(key, system.name, resolve_url(system.url, environ, system=key), catalog)
    return systems


def load_systems(manifest: Manifest, manifest_path: str | Path, *, environ: Mapping[str, str] | None = None,
                 only: Iterable[str] | None = None) -> dict[str, ConnectedSystem]:
    """Read and check the annotations of the manifest at ``manifest_path``; raise :class:`DatasetError` on errors."""
    path = Path(manifest_path)
    annotations, problems = validate_datasets(manifest, base_dir=path.parent, lines=manifest_lines(path))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DatasetError(errors, str(path))
    return connect_systems(manifest, annotations, environ=os.environ if environ is None else environ, only=only)
