"""The throughput chart as SVG coordinates, computed on the server (no chart script runs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from taskiq_dashboard.sampling import Point

WIDTH = 600
HEIGHT = 120


@dataclass(frozen=True)
class Chart:
    """Two polylines (``points`` attributes) and the largest value of each, for the legend."""

    waiting: str
    rate: str
    max_waiting: int
    max_rate: float


def chart_of(points: Sequence[Point]) -> Chart:
    """Scale the last points to the chart box; each series to its own maximum."""
    max_waiting = max((point.waiting for point in points), default=0)
    max_rate = max((point.rate for point in points), default=0.0)
    waiting = _polyline([float(point.waiting) for point in points], float(max_waiting))
    rate = _polyline([point.rate for point in points], max_rate)
    return Chart(waiting, rate, max_waiting, max_rate)


def _polyline(values: Sequence[float], top: float) -> str:
    if not values:
        return ""
    step = WIDTH / max(len(values) - 1, 1)
    scale = (HEIGHT - 4) / top if top > 0 else 0.0
    return " ".join(
        f"{index * step:.1f},{HEIGHT - 2 - value * scale:.1f}" for index, value in enumerate(values)
    )
