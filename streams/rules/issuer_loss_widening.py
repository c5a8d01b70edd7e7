"""issuer_loss_widening: an issuer's newest period is a loss that is new or several times its baseline.

Periods are ordered by (period_end, period_start), never by arrival, so the verdict is a function of the set
of reported periods and any arrival order gives the same one.

The baseline (v2) is like for like: the same period one year earlier (start and end each within 7 days of
one year before the newest's) when it was reported. Chinese operators book subsidies at year end, so a
half-year loss against the full year before it (the v1 baseline) reads a steady loss as a 59x widening;
H1 against H1 does not. Without a year-earlier period the baseline is "the period before": the newest of the
periods that end before the newest begins. Periods overlapping the newest are never compared with it: issuers
report cumulative year-to-date figures (Q1, H1, 9M, FY), and H1 against the Q1 inside it measures mostly the
same months twice. The evidence names the baseline used (`baseline`: `year_earlier` or `period_before`).

A period reported again (same start and end) replaces the earlier figure if reported at the same time or
later, so a restatement wins over a redelivered original.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal

from alerts.core.format import money
from alerts.core.model import KEEP, Fire, Resolve, Severity, Verdict
from streams.model.events import Financials
from streams.model.state import IssuerState, PeriodFigure
from streams.rules.config import IssuerLossWideningConfig
from streams.rules.spec import Judge, Rule

RULE: Final = "issuer_loss_widening"


def period_key(figure: PeriodFigure) -> str:
    return f"{figure.period_start.isoformat()}/{figure.period_end.isoformat()}"


def store_period(issuer: IssuerState, figure: PeriodFigure) -> bool:
    """Keeps the figure unless the same period was already reported later; True if it was kept."""
    key = period_key(figure)
    known = issuer.periods.get(key)
    if known is not None and known.reported_at > figure.reported_at:
        return False
    issuer.periods[key] = figure
    return True


def period_order(p: PeriodFigure) -> tuple[str, str]:
    """Newest is the latest period_end, then the latest period_start: never the order of arrival."""
    return (p.period_end.isoformat(), p.period_start.isoformat())


def newest_and_previous(issuer: IssuerState) -> tuple[PeriodFigure | None, PeriodFigure | None]:
    if not issuer.periods:
        return None, None
    newest = max(issuer.periods.values(), key=period_order)
    before = [p for p in issuer.periods.values() if p.period_end < newest.period_start]
    return newest, (max(before, key=period_order) if before else None)


Basis = Literal["year_earlier", "period_before"]


def year_before(day: dt.date) -> dt.date | None:
    """The same calendar day one year earlier (29 February becomes 28 February); None before year 2."""
    if day.year <= dt.MINYEAR:
        return None
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def year_earlier(issuer: IssuerState, newest: PeriodFigure, tolerance_days: int) -> PeriodFigure | None:
    """The reported period one year before `newest`, each end within the tolerance; the closest if several."""
    start, end = year_before(newest.period_start), year_before(newest.period_end)
    if start is None or end is None:
        return None
    limit = dt.timedelta(days=tolerance_days)

    def distance(p: PeriodFigure) -> tuple[dt.timedelta, str]:
        return (abs(p.period_start - start) + abs(p.period_end - end), period_key(p))

    near = [
        p
        for p in issuer.periods.values()
        if abs(p.period_start - start) <= limit and abs(p.period_end - end) <= limit
    ]
    return min(near, key=distance) if near else None


def newest_and_baseline(
    issuer: IssuerState, cfg: IssuerLossWideningConfig
) -> tuple[PeriodFigure | None, PeriodFigure | None, Basis]:
    newest, before = newest_and_previous(issuer)
    if newest is not None and cfg.like_for_like:
        earlier = year_earlier(issuer, newest, cfg.like_for_like_tolerance_days)
        if earlier is not None:
            return newest, earlier, "year_earlier"
    return newest, before, "period_before"


def loss_multiple(newest: PeriodFigure, previous: PeriodFigure) -> float:
    """How many times the previous annualised loss the newest one is (both losses)."""
    return round(newest.annualised / previous.annualised, 10)


def evaluate(issuer: IssuerState, cfg: IssuerLossWideningConfig) -> Verdict:
    newest, previous, basis = newest_and_baseline(issuer, cfg)
    if newest is None or previous is None:
        return KEEP  # nothing to compare with yet
    evidence = _evidence(newest, previous, basis, cfg)
    name = issuer.issuer_name or issuer.issuer_id
    if newest.net_income >= 0:
        return Resolve(f"{name} made a profit in {_span(newest)}", evidence)
    severity: Severity | None
    if previous.net_income >= 0:
        severity = "warning" if cfg.warn_on_swing_to_loss else None
    else:
        multiple = loss_multiple(newest, previous)
        evidence["multiple"] = multiple
        severity = (
            "critical"
            if multiple >= cfg.critical_multiple
            else "warning"
            if multiple >= cfg.warning_multiple
            else None
        )
    if severity is None:
        described = describe(newest, previous, basis)
        return Resolve(f"{name}'s loss is no longer widening: {described}", evidence)
    return Fire(severity, f"{name} {describe(newest, previous, basis)}", evidence)


_BASIS_WORDS: dict[Basis, str] = {"year_earlier": "a year earlier", "period_before": "the period before"}


def describe(newest: PeriodFigure, previous: PeriodFigure, basis: Basis = "period_before") -> str:
    """E.g. 'net loss annualised Rmb1.66bn (2025-01-01 to 2025-06-30) vs Rmb13.0mn a year earlier (...),
    128x'."""
    now = money(abs(newest.annualised), newest.currency)
    against = _BASIS_WORDS[basis]
    if previous.net_income >= 0:
        before = money(previous.annualised, previous.currency)
        return (
            f"swung to a net loss annualised {now} ({_span(newest)}) "
            f"from a profit of {before} {against} ({_span(previous)})"
        )
    before = money(abs(previous.annualised), previous.currency)
    multiple = loss_multiple(newest, previous)
    return (
        f"net loss annualised {now} ({_span(newest)}) vs {before} {against} ({_span(previous)}), "
        f"{multiple:.1f}x"
    )


def _span(figure: PeriodFigure) -> str:
    return f"{figure.period_start.isoformat()} to {figure.period_end.isoformat()}"


def _evidence(
    newest: PeriodFigure, previous: PeriodFigure, basis: Basis, cfg: IssuerLossWideningConfig
) -> dict[str, Any]:
    return {
        "newest": _figure(newest),
        "previous": _figure(previous),  # the baseline, whichever it is (the key kept from v1)
        "baseline": basis,
        "currency": newest.currency,
        "thresholds": {
            "warning_multiple": cfg.warning_multiple,
            "critical_multiple": cfg.critical_multiple,
            "warn_on_swing_to_loss": cfg.warn_on_swing_to_loss,
            "like_for_like": cfg.like_for_like,
            "like_for_like_tolerance_days": cfg.like_for_like_tolerance_days,
        },
    }


def _figure(figure: PeriodFigure) -> dict[str, Any]:
    return {
        "event_id": figure.event_id,
        "period_start": figure.period_start.isoformat(),
        "period_end": figure.period_end.isoformat(),
        "days": figure.days,
        "net_income": figure.net_income,
        "annualised": figure.annualised,
        "reported_at": figure.reported_at.isoformat(),
    }


def _on_financials(
    judge: Judge, issuer: IssuerState, report: Financials, cfg: IssuerLossWideningConfig
) -> None:
    # The verdict rests on every period known, so it holds from the latest of their reports on, even when
    # an older report is read last.
    known_since = max(p.reported_at for p in issuer.periods.values())
    judge.issuer(issuer, RULE, evaluate(issuer, cfg), known_since)


SPEC = Rule(RULE, IssuerLossWideningConfig, on_financials=_on_financials)
