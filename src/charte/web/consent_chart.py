"""Geometry of the dashboard's consent chart: an SVG line chart drawn server-side (no script, CSP-safe)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Colours told apart by people with common colour-vision deficiencies (Okabe–Ito), each with its own dash.
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#56b4e9", "#e69f00", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4")


@dataclass(frozen=True)
class Line:
    """One series: its label, colour, dash pattern, polyline points and marker positions."""

    label: str
    colour: str
    dash: str
    points: str
    markers: list[tuple[float, float]]


@dataclass(frozen=True)
class LineChart:
    """Everything the template needs to draw the chart."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    lines: list[Line]


def line_chart(periods: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, width: int = 720,
               height: int = 280) -> LineChart:
    """Rates (0..1, None where nobody was asked) per period, one line per series; gaps break nothing."""
    left, top, right, bottom = 44, 12, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(periods) - 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    def y(rate: float) -> float:
        return round(top + plot_h * (1 - rate), 1)

    lines = []
    for n, (label, rates) in enumerate(series):
        markers = [(x(i), y(rate)) for i, rate in enumerate(rates) if rate is not None]
        lines.append(Line(label, PALETTE[n % len(PALETTE)], DASHES[n % len(DASHES)],
                          " ".join(f"{px},{py}" for px, py in markers), markers))
    labels = [(x(i), period) for i, period in enumerate(periods)]
    ticks = [(y(v / 100), f"{v} %") for v in (0, 25, 50, 75, 100)]
    return LineChart(width, height, left, top, plot_w, plot_h, labels, ticks, lines)
