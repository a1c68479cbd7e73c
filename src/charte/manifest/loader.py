"""Load ``charte.yaml``: parse, validate against the models, lint, and report every problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FilePath

from pydantic import ValidationError

from charte.manifest.lint import lint
from charte.manifest.models import Manifest
from charte.manifest.problems import ManifestError, Problem
from charte.manifest.source import LineMap, YamlSyntaxError, read_yaml


@dataclass(frozen=True)
class CheckResult:
    """What ``charte check`` found: the manifest (when it validated) and all problems."""

    filename: str
    manifest: Manifest | None
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        """Problems that make the manifest unusable."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when nothing blocks using the manifest."""
        return self.manifest is not None and not self.errors


def _validation_problems(exc: ValidationError, lines: LineMap) -> list[Problem]:
    problems = []
    for err in exc.errors():
        # Drop pydantic's union/validator markers so the path is the document's own.
        path = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
        where = ".".join(str(p) for p in path) or "manifest"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field (check its spelling against the manifest reference)"
        problems.append(Problem(path, f"{where}: {message}", "schema", line=lines.line_of(path)))
    return problems


def check_text(text: str, filename: str = "charte.yaml") -> CheckResult:
    """Validate and lint manifest text."""
    try:
        data, lines, problems = read_yaml(text)
    except YamlSyntaxError as exc:
        return CheckResult(filename, None, [Problem((), str(exc), "yaml", line=exc.line)])
    if not isinstance(data, dict):
        return CheckResult(filename, None, [Problem((), "the manifest must be a YAML mapping", "schema", line=1)])
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        return CheckResult(filename, None, problems + _validation_problems(exc, lines))
    found = problems + [
        Problem(p.path, p.message, p.rule, p.severity, line=lines.line_of(p.path)) for p in lint(manifest)
    ]
    if any(system.datasets for system in manifest.systems.values()):
        # Dataset annotations (inline or in files next to the manifest) are part of the policy: check them too.
        from charte.datastores.checks import check_datasets

        found += check_datasets(manifest, base_dir=FilePath(filename).parent, lines=lines)
    found.sort(key=lambda p: (p.file or "", p.line or 0, p.message))
    return CheckResult(filename, manifest, found)


def check_file(path: str | FilePath) -> CheckResult:
    """Validate and lint a manifest file."""
    file = FilePath(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CheckResult(str(path), None, [Problem((), "file not found", "io")])
    except (OSError, UnicodeDecodeError) as exc:
        return CheckResult(str(path), None, [Problem((), f"cannot read: {exc}", "io")])
    return check_text(text, str(path))


def load_manifest(path: str | FilePath) -> Manifest:
    """Load a manifest that passes every check, or raise :class:`ManifestError`."""
    result = check_file(path)
    if not result.ok or result.manifest is None:
        raise ManifestError(result.filename, result.errors or result.problems)
    return result.manifest
