"""Lint rules for dataset annotations, checked with the manifest they belong to (``charte check``)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from pathlib import Path as FilePath

from charte.datastores.annotations import Collection, LegalHold
from charte.datastores.graph import links_of, reachable
from charte.datastores.loading import LoadedDataset, SystemAnnotations, read_datasets
from charte.manifest.models import Manifest, System
from charte.manifest.problems import Problem
from charte.manifest.source import LineMap
from charte.manifest.taxonomy import data_category_keys

Rule = Callable[[Manifest, System, SystemAnnotations], Iterator[Problem]]
RULES: list[Rule] = []


def rule(func: Rule) -> Rule:
    """Register a dataset lint rule."""
    RULES.append(func)
    return func


def _did_you_mean(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _collections(annotations: SystemAnnotations) -> Iterator[tuple[str, Collection, LoadedDataset]]:
    for loaded in annotations.datasets:
        for name, collection in loaded.dataset.collections.items():
            yield name, collection, loaded


def category_declared(manifest: Manifest, category: str) -> bool:
    """Whether the manifest declares ``category`` or a broader category containing it."""
    parts = category.split(".")
    return any(".".join(parts[:i]) in manifest.data_categories for i in range(len(parts), 0, -1))


@rule
def duplicate_collections(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    seen: set[str] = set()
    for name, _, loaded in _collections(a):
        if name in seen:
            yield loaded.problem(("collections", name), f"collection {name!r} is annotated twice in system {s.key!r}",
                                 "dataset-duplicate-collection")
        seen.add(name)


@rule
def categories_declared(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    taxonomy = data_category_keys()
    declared = list(m.data_categories)
    for name, collection, loaded in _collections(a):
        for field_name, spec in collection.fields.items():
            for category in spec.all_categories:
                if category_declared(m, category):
                    continue
                if category in taxonomy and not category.startswith("user."):
                    continue  # system.* and similar describe no person: the policy need not list them
                yield loaded.problem(
                    ("collections", name, "fields", field_name, "category"),
                    f"data category {category!r} of {name}.{field_name} is not declared in the manifest's "
                    f"data_categories{_did_you_mean(category, declared)}", "dataset-unknown-category")


@rule
def legal_holds_resolve(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    for name, collection, loaded in _collections(a):
        holds: list[tuple[tuple[str, ...], LegalHold | None]] = [(("collections", name, "legal_hold"),
                                                                  collection.legal_hold)]
        holds += [(("collections", name, "fields", f, "legal_hold"), spec.legal_hold)
                  for f, spec in collection.fields.items()]
        for location, hold in holds:
            if hold is None:
                continue
            purpose = m.purposes.get(hold.purpose)
            if purpose is None:
                yield loaded.problem(location, f"legal hold of {name} names unknown purpose {hold.purpose!r}"
                                     f"{_did_you_mean(hold.purpose, list(m.purposes))}", "dataset-hold-purpose")
                continue
            if purpose.legal_basis != "legal_obligation":
                yield loaded.problem(location, f"legal hold of {name} rests on purpose {hold.purpose!r} whose legal "
                                     f"basis is {purpose.legal_basis}, not legal_obligation: an erasure request "
                                     "would normally win (Art. 17(3)(b))", "dataset-hold-basis", "warning")
            if hold.period is None and (purpose.retention is None or purpose.retention.period is None):
                yield loaded.problem(location, f"legal hold of {name} has no period and purpose {hold.purpose!r} "
                                     "has no retention period", "dataset-hold-period")
            if hold.since is not None and hold.since not in collection.fields:
                yield loaded.problem((*location, "since"), f"legal hold of {name} runs from {hold.since!r}, which "
                                     f"is not a field of {name}", "dataset-unknown-field")


@rule
def references_resolve(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    collections = {n: c for n, c, _ in _collections(a)}
    keys = a.dataset_keys
    for name, collection, loaded in _collections(a):
        for field_name, spec in collection.fields.items():
            for i, ref in enumerate(spec.references):
                location = ("collections", name, "fields", field_name, "references", i)
                if ref.dataset is not None and ref.dataset not in keys:
                    yield loaded.problem(location, f"{name}.{field_name} references dataset {ref.dataset!r} of "
                                         f"another system; requests do not follow it", "dataset-reference-external",
                                         "warning")
                    continue
                target = collections.get(ref.collection)
                if target is None:
                    yield loaded.problem(location, f"{name}.{field_name} references missing collection "
                                         f"{ref.collection!r}{_did_you_mean(ref.collection, list(collections))}",
                                         "dataset-reference")
                elif ref.target not in target.fields and ref.target not in target.keys:
                    yield loaded.problem(location, f"{name}.{field_name} references missing field "
                                         f"{ref.collection}.{ref.target}"
                                         f"{_did_you_mean(ref.target, list(target.fields))}", "dataset-reference")


@rule
def fields_exist(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    for name, collection, loaded in _collections(a):
        fields = list(collection.fields)
        for kind, field_name in collection.identities.items():
            if field_name not in collection.fields:
                yield loaded.problem(("collections", name, "identities", kind),
                                     f"identity {kind!r} of {name} is field {field_name!r}, which is not annotated"
                                     f"{_did_you_mean(field_name, fields)}", "dataset-identity")
        for i, key in enumerate(collection.primary_key):
            if key not in collection.fields:
                yield loaded.problem(("collections", name, "primary_key", i),
                                     f"primary key {key!r} of {name} is not an annotated field"
                                     f"{_did_you_mean(key, fields)}", "dataset-unknown-field")
        rules = collection.retention.rules if collection.retention else ()
        for i, retention in enumerate(rules):
            if retention.field not in collection.fields:
                # One rule is written as a mapping, several as a list.
                where = ("retention", i) if len(rules) > 1 else ("retention",)
                which = f"retention rule {i + 1}" if len(rules) > 1 else "retention"
                yield loaded.problem(("collections", name, *where, "field"),
                                     f"{which} of {name} runs from {retention.field!r}, which is not an annotated "
                                     "field", "dataset-unknown-field")


@rule
def purposes_and_sources_resolve(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    for name, collection, loaded in _collections(a):
        for i, purpose in enumerate(collection.purposes or []):
            if purpose not in m.purposes:
                yield loaded.problem(("collections", name, "purposes", i), f"unknown purpose {purpose!r}"
                                     f"{_did_you_mean(purpose, list(m.purposes))}", "unknown-reference")
        for field_name, spec in collection.fields.items():
            if spec.source is not None and spec.source not in m.data_sources:
                yield loaded.problem(("collections", name, "fields", field_name, "source"),
                                     f"unknown data source {spec.source!r}"
                                     f"{_did_you_mean(spec.source, list(m.data_sources))}", "unknown-reference")


@rule
def strategies_supported(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    from charte.datastores.strategies import UnusableStrategy, check_strategy

    for name, collection, loaded in _collections(a):
        for field_name, spec in collection.fields.items():
            if spec.erasure is None:
                continue
            try:
                check_strategy(spec.erasure)
            except UnusableStrategy as exc:
                yield loaded.problem(("collections", name, "fields", field_name, "erasure"), f"{name}.{field_name}: "
                                     f"{exc}", "dataset-masking-strategy")


@rule
def rows_addressable(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    for name, collection, loaded in _collections(a):
        if collection.erasure != "keep" and not collection.keys and not collection.skip:
            yield loaded.problem(("collections", name), f"collection {name} has no primary key: erasure, "
                                 "rectification and restriction cannot address its rows", "dataset-no-primary-key",
                                 "warning")


@rule
def subjects_reachable(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    collections = a.collections
    plain = {n: c for n, (c, _) in collections.items()}
    if not plain:
        return
    if not any(c.identity_fields for c in plain.values()):
        first = next(iter(a.datasets))
        yield first.problem((), f"system {s.key!r} has no identity field (email, phone_number...): no request can "
                            "find a subject in it", "dataset-no-identity", "warning")
        return
    found = reachable(plain, links_of(plain, a.dataset_keys))
    for name, (collection, loaded) in collections.items():
        if name not in found and not collection.skip and any(f.personal for f in collection.fields.values()):
            yield loaded.problem(("collections", name), f"collection {name} holds personal data but no identity or "
                                 "reference leads to it: requests never reach it", "dataset-unreachable", "warning")


@rule
def categories_have_purposes(m: Manifest, s: System, a: SystemAnnotations) -> Iterator[Problem]:
    from charte.datastores.purposes import purposes_using

    for name, collection, loaded in _collections(a):
        for field_name, spec in collection.fields.items():
            categories = [c for c in spec.all_categories if category_declared(m, c)]
            if categories and spec.personal and not purposes_using(m, s, collection, categories):
                yield loaded.problem(("collections", name, "fields", field_name, "category"),
                                     f"no purpose of system {s.key!r} uses {', '.join(categories)} "
                                     f"({name}.{field_name}): data kept without a purpose",
                                     "dataset-category-without-purpose", "warning")


def validate_datasets(manifest: Manifest, *, base_dir: FilePath,
                      lines: LineMap | None = None) -> tuple[dict[str, SystemAnnotations], list[Problem]]:
    """Every system's annotations and their problems: reading them, then every rule."""
    systems, problems = read_datasets(manifest, base_dir=base_dir, lines=lines)
    for key, system in manifest.systems.items():
        for check in RULES:
            problems += list(check(manifest, system, systems[key]))
    return systems, problems


def check_datasets(manifest: Manifest, *, base_dir: FilePath, lines: LineMap | None = None) -> list[Problem]:
    """The problems of every system's annotations (what ``charte check`` adds for datasets)."""
    return validate_datasets(manifest, base_dir=base_dir, lines=lines)[1]
