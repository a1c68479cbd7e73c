"""Problems found in a manifest, each tied to a place in its file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Path = tuple[str | int, ...]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding: where it is, what rule it breaks, and what to do."""

    path: Path
    message: str
    rule: str
    severity: Severity = "error"
    line: int | None = field(default=None, compare=False)
    #: The file the problem is in when it is not the manifest itself (a dataset file it references).
    file: str | None = field(default=None, compare=False)

    def format(self, filename: str) -> str:
        """Render as ``file:line: severity: message [rule]``."""
        filename = self.file or filename
        where = f"{filename}:{self.line}" if self.line else filename
        return f"{where}: {self.severity}: {self.message} [{self.rule}]"


class ManifestError(Exception):
    """The manifest cannot be used; ``problems`` says why and where."""

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = problems
        super().__init__("\n".join(p.format(filename) for p in problems))
