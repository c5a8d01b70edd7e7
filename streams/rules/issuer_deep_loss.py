"""issuer_deep_loss: in the issuer's newest period with revenue, the net loss is at least half the revenue.

A loss that swallows half of what the issuer earns is a credit signal of its own, whether or not it widened:
issuer_loss_widening compares periods, this rule reads one. The period is the newest (by period_end, then
period_start, never by arrival) of those reported with revenue > 0, so a report without revenue neither
fires nor resolves it. Figures are of the same period, so nothing is annualised.

Warning at `warning_loss_pct_of_revenue` (50%); resolves when the newest such period's loss is under
`resolve_loss_pct_of_revenue` (40%) or a profit; in between, the alert keeps its state, so a loss hovering
around the threshold does not flap.
"""

from __future__ import annotations

from typing import Any, Final

from alerts.core.format import money
from alerts.core.model import KEEP, Fire, Resolve, Verdict
from streams.model.events import Financials
from streams.model.state import IssuerState, PeriodFigure
from streams.rules.config import IssuerDeepLossConfig
from streams.rules.issuer_loss_widening import period_order
from streams.rules.spec import Judge, Rule

RULE: Final = "issuer_deep_loss"


def newest_with_revenue(issuer: IssuerState) -> PeriodFigure | None:
    reported = [p for p in issuer.periods.values() if p.revenue is not None and p.revenue > 0]
    return max(reported, key=period_order) if reported else None


def loss_pct_of_revenue(figure: PeriodFigure) -> float:
    """Net loss as a percentage of revenue; negative for a profit."""
    assert figure.revenue is not None and figure.revenue > 0
    return round(-figure.net_income / figure.revenue * 100, 10)


def evaluate(issuer: IssuerState, cfg: IssuerDeepLossConfig) -> Verdict:
    figure = newest_with_revenue(issuer)
    if figure is None:
        return KEEP  # no revenue reported: nothing to measure the loss against
    pct = loss_pct_of_revenue(figure)
    name = issuer.issuer_name or issuer.issuer_id
    span = f"{figure.period_start.isoformat()} to {figure.period_end.isoformat()}"
    evidence = _evidence(figure, pct, cfg)
    assert figure.revenue is not None
    revenue = money(figure.revenue, figure.currency)
    if pct >= cfg.warning_loss_pct_of_revenue:
        loss = money(-figure.net_income, figure.currency)
        return Fire(
            "warning", f"{name} lost {loss} on revenue of {revenue} ({span}): {pct:.1f}% of revenue", evidence
        )
    if figure.net_income >= 0:
        return Resolve(f"{name} made a profit on revenue of {revenue} ({span})", evidence)
    if pct < cfg.resolve_loss_pct_of_revenue:
        return Resolve(
            f"{name}'s loss is down to {pct:.1f}% of revenue ({span}), under "
            f"{cfg.resolve_loss_pct_of_revenue:g}%",
            evidence,
        )
    return KEEP  # between the resolve and warning levels: as it was


def _evidence(figure: PeriodFigure, pct: float, cfg: IssuerDeepLossConfig) -> dict[str, Any]:
    return {
        "period": {
            "event_id": figure.event_id,
            "period_start": figure.period_start.isoformat(),
            "period_end": figure.period_end.isoformat(),
            "net_income": figure.net_income,
            "revenue": figure.revenue,
            "reported_at": figure.reported_at.isoformat(),
        },
        "loss_pct_of_revenue": pct,
        "currency": figure.currency,
        "thresholds": {
            "warning_loss_pct_of_revenue": cfg.warning_loss_pct_of_revenue,
            "resolve_loss_pct_of_revenue": cfg.resolve_loss_pct_of_revenue,
        },
    }


def _on_financials(judge: Judge, issuer: IssuerState, report: Financials, cfg: IssuerDeepLossConfig) -> None:
    # Like issuer_loss_widening: the verdict holds from the latest report of the periods known on.
    known_since = max(p.reported_at for p in issuer.periods.values())
    judge.issuer(issuer, RULE, evaluate(issuer, cfg), known_since)


SPEC = Rule(RULE, IssuerDeepLossConfig, on_financials=_on_financials)
