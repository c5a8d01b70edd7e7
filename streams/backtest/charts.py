"""The report's charts, drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no
global state), each returned as PNG bytes so the same image is written to a file and embedded in the HTML."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

from matplotlib.figure import Figure

from alerts.core.china import CHINA_TIME
from alerts.core.model import Alert
from streams.model.state import PeriodFigure
from streams.rules.config import BelowParConfig

SEVERITY_COLOUR = {"info": "#4c78a8", "warning": "#f58518", "critical": "#d62728"}
RULE_MARKER = {"below_par": "v", "price_drop": "X", "distressed_tranche": "D", "stale_quote": "s"}


def _x(stamp: dt.datetime) -> float:
    """Matplotlib's date axis unit: days since its default epoch, 1970-01-01 UTC."""
    return stamp.timestamp() / 86400


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # No Software stamp: the same backtest gives the same bytes.
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def _price_at(points: Sequence[tuple[dt.datetime, float]], when: dt.datetime) -> float | None:
    """The newest price at or before `when`: where an alert raised by another event sits on the line."""
    before = [p for t, p in points if t <= when]
    return before[-1] if before else (points[0][1] if points else None)


def tranche_chart(
    tranche_id: str,
    points: Sequence[tuple[dt.datetime, float]],
    notices: Sequence[Alert],
    cfg: BelowParConfig,
) -> bytes:
    """Price against par, the warning and critical bands of below_par, and every alert as a marker."""
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    times, prices = [_x(t) for t, _ in points], [p for _, p in points]
    low = min([*prices, 100 - cfg.critical_discount]) - 1
    high = max([*prices, 100.0]) + 1
    ax.axhspan(
        low, 100 - cfg.critical_discount, color=SEVERITY_COLOUR["critical"], alpha=0.12, label="critical band"
    )
    ax.axhspan(
        100 - cfg.critical_discount,
        100 - cfg.warning_discount,
        color=SEVERITY_COLOUR["warning"],
        alpha=0.12,
        label="warning band",
    )
    ax.axhline(100, color="#555555", linewidth=1, linestyle="--", label="par")
    ax.plot(times, prices, color="#222222", marker=".", linewidth=1.4, label="clean price")
    seen: set[str] = set()
    for n in notices:
        y = n.evidence.get("price") if isinstance(n.evidence.get("price"), float | int) else None
        y = y if y is not None else _price_at(points, n.event_time)
        if y is None:
            continue
        label = f"{n.rule} {n.status}"
        firing = n.status == "firing"
        ax.scatter(
            [_x(n.event_time)],
            [y],
            marker=RULE_MARKER.get(n.rule, "o"),
            s=70,
            zorder=3,
            facecolors=SEVERITY_COLOUR[n.severity] if firing else "none",
            edgecolors=SEVERITY_COLOUR[n.severity] if firing else "#2ca02c",
            label=None if label in seen else label,
        )
        seen.add(label)
    ax.xaxis_date(tz=CHINA_TIME)  # market dates, whatever offset the events carried
    ax.set_ylim(low, high)
    ax.set_title(f"{tranche_id}: clean price against par")
    ax.set_ylabel("price per 100 face")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left", ncol=2)
    fig.autofmt_xdate()
    return _png(fig)


def issuer_chart(name: str, periods: Sequence[PeriodFigure]) -> bytes:
    """Net income as reported and annualised (x 365 / days), period by period."""
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    labels = [f"{p.period_start:%Y-%m-%d}\nto {p.period_end:%Y-%m-%d}" for p in periods]
    xs = list(range(len(periods)))
    reported = [p.net_income / 1e6 for p in periods]
    annualised = [p.annualised / 1e6 for p in periods]
    ax.bar([x - 0.2 for x in xs], reported, width=0.4, color="#9ecae9", label="net income as reported")
    colours = [SEVERITY_COLOUR["critical"] if v < 0 else "#2ca02c" for v in annualised]
    ax.bar([x + 0.2 for x in xs], annualised, width=0.4, color=colours, label="annualised (x 365 / days)")
    for x, value in zip(xs, annualised, strict=True):
        ax.annotate(
            f"{value:,.0f}", (x + 0.2, value), ha="center", va="bottom" if value >= 0 else "top", fontsize=8
        )
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.margins(y=0.12)
    ax.set_xticks(xs, labels, fontsize=8)
    ax.set_ylabel("million (currency of the report)")
    ax.set_title(f"{name}: net income by period")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def issuance_chart(counts: dict[int, int], baseline: dict[int, int]) -> bytes:
    """Deals per year (stream and baseline, the larger as issuance_record counts), against the record."""
    years = sorted(counts.keys() | baseline.keys())
    totals = [max(counts.get(y, 0), baseline.get(y, 0)) for y in years]
    record_before = [max(totals[:i], default=0) for i in range(len(years))]
    fig = Figure(figsize=(8, 3.4))
    ax = fig.subplots()
    colours = [
        SEVERITY_COLOUR["info"] if i > 0 and t > r else "#bbbbbb"
        for i, (t, r) in enumerate(zip(totals, record_before, strict=True))
    ]
    xs = list(range(len(years)))
    ax.bar(xs, totals, color=colours, label="deals announced (blue: a record)")
    ax.hlines(
        record_before[1:],
        [x - 0.45 for x in xs[1:]],
        [x + 0.45 for x in xs[1:]],
        color="#d62728",
        label="record to beat",
    )
    for x, total in zip(xs, totals, strict=True):
        ax.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(xs, [str(y) for y in years])
    ax.margins(y=0.12)
    ax.set_ylabel("distinct deals")
    ax.set_title("ABS issuance per calendar year (China time)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)
