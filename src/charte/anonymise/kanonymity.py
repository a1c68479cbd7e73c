"""k-anonymity: every combination of quasi-identifiers must be shared by at least k rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


class NotAnonymous(Exception):
    """The dataset has a group smaller than k; it must not be written."""

    def __init__(self, report: KAnonymityReport) -> None:
        self.report = report
        super().__init__(
            f"k-anonymity not met: smallest group has {report.smallest_group} row(s) for k = {report.k} "
            f"({report.groups_below_k} group(s) below k, e.g. {dict(report.example)})"
        )


@dataclass(frozen=True)
class KAnonymityReport:
    """Sizes of the quasi-identifier groups of a dataset."""

    k: int
    rows: int
    groups: int
    smallest_group: int
    groups_below_k: int
    example: tuple[tuple[str, object], ...]

    @property
    def ok(self) -> bool:
        """True when every group has at least k rows (an empty dataset is trivially anonymous)."""
        return self.groups_below_k == 0


def measure(rows: Iterable[Mapping[str, object]], quasi_identifiers: Sequence[str], k: int = 5) -> KAnonymityReport:
    """Group rows by their quasi-identifiers and report the smallest group."""
    if k < 1:
        raise ValueError("k must be at least 1")
    counts = Counter(tuple(row.get(q) for q in quasi_identifiers) for row in rows)
    if not counts:
        return KAnonymityReport(k, 0, 0, 0, 0, ())
    smallest_key, smallest = min(counts.items(), key=lambda item: item[1])
    below = sum(1 for n in counts.values() if n < k)
    return KAnonymityReport(k, sum(counts.values()), len(counts), smallest, below,
                            tuple(zip(quasi_identifiers, smallest_key, strict=True)))


def require_k_anonymous(rows: Iterable[Mapping[str, object]], quasi_identifiers: Sequence[str],
                        k: int = 5) -> KAnonymityReport:
    """The report, or :class:`NotAnonymous` when a group is smaller than k."""
    report = measure(rows, quasi_identifiers, k)
    if not report.ok:
        raise NotAnonymous(report)
    return report
