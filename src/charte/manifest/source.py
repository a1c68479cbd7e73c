"""YAML reading that remembers the line of every value, so problems point at ``file:line``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from charte.manifest.problems import Path, Problem


@dataclass
class LineMap:
    """Maps a path inside the document to the 1-based line where it is written."""

    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of ``path``, or of its nearest written ancestor."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)


def _walk(node: yaml.Node, path: Path, lines: LineMap, problems: list[Problem]) -> None:
    lines.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                problems.append(
                    Problem(child, f"duplicate key {key!r}: the later value would silently replace the earlier",
                            "duplicate-key", line=key_node.start_mark.line + 1)
                )
            seen.add(key)
            lines.lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, problems)


class YamlSyntaxError(Exception):
    """The file is not valid YAML."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(message)


def read_yaml(text: str) -> tuple[Any, LineMap, list[Problem]]:
    """Parse YAML text into data, a line map and structural problems (duplicate keys)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, LineMap({(): 1}), []
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlSyntaxError(line, f"invalid YAML: {exc.problem or exc}") from exc
    finally:
        loader.dispose()
    lines = LineMap()
    problems: list[Problem] = []
    _walk(node, (), lines, problems)
    return data, lines, problems
