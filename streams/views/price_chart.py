"""A tranche's price history as an SVG chart's geometry: the price line, par, below_par's warning and critical
bands, and a marker per alert transition. Pure arithmetic; the page's template draws it (no JavaScript, no
plotting library in the worker: the backtest's matplotlib charts are for offline reports)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from alerts.core.china import CHINA_TIME as CHINA
from alerts.core.model import Alert
from streams.rules.config import BelowParConfig

WIDTH, HEIGHT = 1240, 340
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36  # margins for the axes' labels


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # pixel position along its axis
    label: str
    anchor: str = "middle"  # the label's text-anchor: the first and last dates stay inside the chart


@dataclass(frozen=True, slots=True)
class Marker:
    x: float
    y: float
    severity: str
    status: str
    label: str  # the tooltip: what happened, when


@dataclass(frozen=True, slots=True)
class Band:
    y: float
    height: float
    kind: str  # "warning" or "critical"
    label: str


@dataclass
class PriceChart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_width: int = WIDTH - LEFT - RIGHT
    plot_height: int = HEIGHT - TOP - BOTTOM
    line: str = ""  # the polyline's points
    dots: list[tuple[float, float]] = field(default_factory=list)
    par_y: float = 0.0
    bands: list[Band] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    points: int = 0


def _price_at(points: Sequence[tuple[dt.datetime, float]], when: dt.datetime) -> float | None:
    """The newest price at or before `when` (or the first one): where an alert sits on the line."""
    before = [p for t, p in points if t <= when]
    return before[-1] if before else (points[0][1] if points else None)


def _nice_step(span: float, target: int = 6) -> float:
    raw = span / target
    magnitude = 10.0 ** math.floor(math.log10(raw))
    return next(float(m * magnitude) for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def price_chart(
    points: Sequence[tuple[dt.datetime, float]], transitions: Sequence[Alert], cfg: BelowParConfig
) -> PriceChart | None:
    """None without a price to draw. `points` oldest first; `transitions` are alert transitions on the
    tranche (their evidence's price places them when it has one, else the price line at their time)."""
    if not points:
        return None
    chart = PriceChart(points=len(points))
    warning, critical = 100.0 - cfg.warning_discount, 100.0 - cfg.critical_discount
    prices = [p for _, p in points]
    low = min([*prices, critical]) - 1.0
    high = max([*prices, 100.0]) + 1.0
    start, end = points[0][0], points[-1][0]
    if end <= start:
        start, end = start - dt.timedelta(days=1), end + dt.timedelta(days=1)
    seconds = (end - start).total_seconds()

    def x(when: dt.datetime) -> float:
        share = min(1.0, max(0.0, (when - start).total_seconds() / seconds))
        return round(chart.left + share * chart.plot_width, 1)

    def y(price: float) -> float:
        share = (price - low) / (high - low)
        return round(chart.top + (1 - share) * chart.plot_height, 1)

    chart.dots = [(x(t), y(p)) for t, p in points]
    chart.line = _steps(chart.dots)
    chart.par_y = y(100.0)
    chart.bands = [
        Band(y(warning), y(critical) - y(warning), "warning", f"below_par warning: price ≤ {warning:g}"),
        Band(y(critical), y(low) - y(critical), "critical", f"below_par critical: price ≤ {critical:g}"),
    ]
    step = _nice_step(high - low)
    first = math.ceil(low / step) * step
    chart.y_ticks = [Tick(y(v), f"{v:g}") for i in range(50) if (v := round(first + i * step, 6)) <= high]
    chart.x_ticks = _time_ticks(start, end, x)
    for alert in transitions:
        price = alert.evidence.get("price")
        placed = float(price) if isinstance(price, int | float) else _price_at(points, alert.event_time)
        if placed is None:
            continue
        when = alert.event_time.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        state = "resolved" if alert.status == "resolved" else alert.severity
        chart.markers.append(
            Marker(
                x(alert.event_time),
                y(placed),
                alert.severity,
                alert.status,
                f"{when} {alert.rule} {state}: {alert.summary}",
            )
        )
    return chart


def _steps(dots: Sequence[tuple[float, float]]) -> str:
    """A price holds until the next quote: the line steps, so a marker at an alert's time sits on it."""
    path: list[tuple[float, float]] = []
    for px, py in dots:
        if path:
            path.append((px, path[-1][1]))
        path.append((px, py))
    return " ".join(f"{px},{py}" for px, py in path)


def _time_ticks(start: dt.datetime, end: dt.datetime, x: Callable[[dt.datetime], float]) -> list[Tick]:
    """Five evenly spaced dates (China time), with the time of day when the span is under three days."""
    span = end - start
    fmt = "%m-%d %H:%M" if span < dt.timedelta(days=3) else "%Y-%m-%d"
    return [
        Tick(x(when), when.astimezone(CHINA).strftime(fmt), ("start", "middle", "middle", "middle", "end")[i])
        for i in range(5)
        if (when := start + span * i / 4)
    ]
