"""Read the dataset annotations a manifest's systems declare: inline, or in files it references.

Every problem keeps the place it comes from: ``charte.yaml:LINE`` for inline annotations and
``datasets/crm.yaml:LINE`` for a referenced file, whichever format (Charte or Fides) the file uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any

from pydantic import ValidationError

from charte.datastores.annotations import Collection, Dataset
from charte.datastores.fides import Converted, Location, convert, is_fides
from charte.manifest.models import Manifest
from charte.manifest.problems import Path, Problem, Severity
from charte.manifest.source import LineMap, YamlSyntaxError, read_yaml


@dataclass(frozen=True)
class LoadedDataset:
    """One dataset with where it was written, so problems can name ``file:line``."""

    dataset: Dataset
    file: str | None
    lines: LineMap
    prefix: Path
    fides: Converted | None = None

    def path_of(self, location: Location) -> Path:
        """The document path of a location inside the dataset, e.g. ``("collections", "invoices")``."""
        if self.fides is not None:
            return (*self.prefix, *self.fides.locate(location))
        return (*self.prefix, *location)

    def problem(self, location: Location, message: str, rule: str, severity: Severity = "error") -> Problem:
        """A problem at ``location``, with this dataset's file and line."""
        path = self.path_of(location)
        return Problem(path, message, rule, severity, line=self.lines.line_of(path), file=self.file)


@dataclass(frozen=True)
class SystemAnnotations:
    """All datasets of one system, their collections merged (a system is one database)."""

    key: str
    datasets: tuple[LoadedDataset, ...]

    @property
    def collections(self) -> dict[str, tuple[Collection, LoadedDataset]]:
        """Collection name -> (collection, the dataset declaring it); the first declaration wins."""
        merged: dict[str, tuple[Collection, LoadedDataset]] = {}
        for loaded in self.datasets:
            for name, collection in loaded.dataset.collections.items():
                merged.setdefault(name, (collection, loaded))
        return merged

    @property
    def dataset_keys(self) -> frozenset[str]:
        """Keys of the datasets of this system (references may name them)."""
        return frozenset(d.dataset.key for d in self.datasets)


class DatasetError(Exception):
    """The annotations cannot be used; ``problems`` says why and where."""

    def __init__(self, problems: list[Problem], filename: str = "charte.yaml") -> None:
        self.problems = problems
        super().__init__("\n".join(p.format(filename) for p in problems))


def _schema_problems(exc: ValidationError, make: Any) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        where = ".".join(str(p) for p in loc) or "dataset"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field (check its spelling against docs/datastores.md)"
        problems.append(make(loc, f"{where}: {message}"))
    return problems


def _charte_dataset(data: Any, default_key: str, file: str | None, lines: LineMap,
                    prefix: Path) -> tuple[LoadedDataset | None, list[Problem]]:
    def make(loc: Location, message: str) -> Problem:
        path = (*prefix, *loc)
        return Problem(path, message, "schema", line=lines.line_of(path), file=file)

    if not isinstance(data, dict):
        return None, [make((), "a dataset must be a mapping with collections")]
    try:
        dataset = Dataset.model_validate({"key": default_key, **data})
    except ValidationError as exc:
        return None, _schema_problems(exc, make)
    return LoadedDataset(dataset, file, lines, prefix), []


def _fides_dataset(data: Any, file: str | None, lines: LineMap,
                   prefix: Path) -> tuple[LoadedDataset | None, list[Problem]]:
    from fideslang.models import Dataset as FidesDataset

    def make(loc: Location, message: str) -> Problem:
        path = (*prefix, *loc)
        return Problem(path, message, "schema", line=lines.line_of(path), file=file)

    try:
        FidesDataset.model_validate(data)
    except ValidationError as exc:
        return None, _schema_problems(exc, make)
    converted = convert(data)
    notes = [Problem((*prefix, *where), message, "dataset-nested-field", "warning",
                     line=lines.line_of((*prefix, *where)), file=file) for where, message in converted.notes]
    try:
        dataset = Dataset.model_validate(converted.data)
    except ValidationError as exc:
        return None, notes + _schema_problems(exc, lambda loc, msg: make(converted.locate(loc), msg))
    return LoadedDataset(dataset, file, lines, prefix, converted), notes


def _document(data: Any, default_key: str, file: str, lines: LineMap) -> tuple[list[LoadedDataset], list[Problem]]:
    """A dataset file: ``dataset:`` (a Fides list or a Charte mapping), or a bare dataset."""
    loaded: list[LoadedDataset] = []
    problems: list[Problem] = []
    if isinstance(data, dict) and "dataset" in data and len(data) == 1:
        body = data["dataset"]
        if isinstance(body, list):
            for i, entry in enumerate(body):
                one, found = _fides_dataset(entry, file, lines, ("dataset", i)) if is_fides(entry) else \
                    _charte_dataset(entry, default_key, file, lines, ("dataset", i))
                problems += found
                loaded += [one] if one else []
            return loaded, problems
        one, found = _charte_dataset(body, default_key, file, lines, ("dataset",))
    elif is_fides(data):
        one, found = _fides_dataset(data, file, lines, ())
    else:
        one, found = _charte_dataset(data, default_key, file, lines, ())
    return ([one] if one else []), found


def _read_file(reference: str, base_dir: FilePath, default_key: str) -> tuple[list[LoadedDataset], list[Problem]]:
    path = FilePath(reference)
    shown = str(path if path.is_absolute() else base_dir / path)
    try:
        text = FilePath(shown).read_text(encoding="utf-8")
    except OSError as exc:
        return [], [Problem((), f"cannot read dataset file: {exc.strerror or exc}", "io", file=shown)]
    try:
        data, lines, structural = read_yaml(text)
    except YamlSyntaxError as exc:
        return [], [Problem((), str(exc), "yaml", line=exc.line, file=shown)]
    loaded, problems = _document(data, default_key, shown, lines)
    return loaded, [dataclasses.replace(p, file=shown) for p in structural] + problems


def read_system(key: str, entries: list[dict[str, Any]], *, base_dir: FilePath,
                lines: LineMap) -> tuple[SystemAnnotations, list[Problem]]:
    """The datasets of one system from its manifest entries (inline annotations or ``file:`` references)."""
    loaded: list[LoadedDataset] = []
    problems: list[Problem] = []
    for i, entry in enumerate(entries):
        prefix: Path = ("systems", key, "datasets", i)
        default_key = key if len(entries) == 1 else f"{key}_{i}"
        if "file" in entry:
            extra = sorted(set(entry) - {"file"})
            if extra or not isinstance(entry["file"], str):
                problems.append(Problem(prefix, "a dataset reference is written {file: path} and nothing else",
                                        "schema", line=lines.line_of(prefix)))
                continue
            found, found_problems = _read_file(entry["file"], base_dir, FilePath(entry["file"]).stem)
        elif is_fides(entry):
            one, found_problems = _fides_dataset(entry, None, lines, prefix)
            found = [one] if one else []
        else:
            one, found_problems = _charte_dataset(entry, default_key, None, lines, prefix)
            found = [one] if one else []
        loaded += found
        problems += found_problems
    return SystemAnnotations(key, tuple(loaded)), problems


def read_datasets(manifest: Manifest, *, base_dir: FilePath,
                  lines: LineMap | None = None) -> tuple[dict[str, SystemAnnotations], list[Problem]]:
    """Every system's annotations, and the problems reading them (schema, YAML, missing files)."""
    lines = lines or LineMap()
    systems: dict[str, SystemAnnotations] = {}
    problems: list[Problem] = []
    for key, system in manifest.systems.items():
        systems[key], found = read_system(key, system.datasets, base_dir=base_dir, lines=lines)
        problems += found
    return systems, problems


def manifest_lines(path: FilePath) -> LineMap:
    """The line map of a manifest file (for problems found after loading it)."""
    try:
        _, lines, _ = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, YamlSyntaxError):
        return LineMap()
    return lines


def annotations_of(systems: Mapping[str, SystemAnnotations], key: str) -> SystemAnnotations:
    """One system's annotations, or empty ones."""
    return systems.get(key) or SystemAnnotations(key, ())
