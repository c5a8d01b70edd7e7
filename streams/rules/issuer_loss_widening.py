"""issuer_loss_widening: an issuer's newest period is a loss that is new or several times the one before.

Periods are ordered by (period_end, period_start), never by arrival, so the verdict is a function of the set
of reported periods and any arrival order gives the same one. "The one before" the newest is the newest of
the periods that end before the newest begins. Periods overlapping the newest are not compared with it:
Chinese issuers report cumulative year-to-date figures (Q1, H1, 9M, FY), and H1 against the Q1 inside it
measures mostly the same months twice. A period reported again (same start and end) replaces the earlier
figure if reported at the same time or later, so a restatement wins over a redelivered original.
"""

from __future__ import annotations

from typing import Any, Final

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


def newest_and_previous(issuer: IssuerState) -> tuple[PeriodFigure | None, PeriodFigure | None]:
    def order(p: PeriodFigure) -> tuple[str, str]:
        return (p.period_end.isoformat(), p.period_start.isoformat())

    if not issuer.periods:
        return None, None
    newest = max(issuer.periods.values(), key=order)
    before = [p for p in issuer.periods.values() if p.period_end < newest.period_start]
    return newest, (max(before, key=order) if before else None)


def loss_multiple(newest: PeriodFigure, previous: PeriodFigure) -> float:
    """How many times the previous annualised loss the newest one is (both losses)."""
    return round(newest.annualised / previous.annualised, 10)


def evaluate(issuer: IssuerState, cfg: IssuerLossWideningConfig) -> Verdict:
    newest, previous = newest_and_previous(issuer)
    if newest is None or previous is None:
        return KEEP  # nothing to compare with yet
    evidence = _evidence(newest, previous, cfg)
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
        return Resolve(f"{name}'s loss is no longer widening: {describe(newest, previous)}", evidence)
    return Fire(severity, f"{name} {describe(newest, previous)}", evidence)


def describe(newest: PeriodFigure, previous: PeriodFigure) -> str:
    """E.g. 'net loss annualised Rmb1.66bn (2025-01-01 to 2025-06-30) vs Rmb13.0mn (...), 128x'."""
    now = money(abs(newest.annualised), newest.currency)
    if previous.net_income >= 0:
        before = money(previous.annualised, previous.currency)
        return (
            f"swung to a net loss annualised {now} ({_span(newest)}) "
            f"from a profit of {before} ({_span(previous)})"
        )
    before = money(abs(previous.annualised), previous.currency)
    multiple = loss_multiple(newest, previous)
    return f"net loss annualised {now} ({_span(newest)}) vs {before} ({_span(previous)}), {multiple:.1f}x"


def _span(figure: PeriodFigure) -> str:
    return f"{figure.period_start.isoformat()} to {figure.period_end.isoformat()}"


def _evidence(newest: PeriodFigure, previous: PeriodFigure, cfg: IssuerLossWideningConfig) -> dict[str, Any]:
    return {
        "newest": _figure(newest),
        "previous": _figure(previous),
        "currency": newest.currency,
        "thresholds": {
            "warning_multiple": cfg.warning_multiple,
            "critical_multiple": cfg.critical_multiple,
            "warn_on_swing_to_loss": cfg.warn_on_swing_to_loss,
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
