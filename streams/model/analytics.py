"""A tranche's analytics at a quote, exactly as the contract's "Analytics" section defines them.

Per 100 of outstanding principal at the settlement date S (streams/model/schedule.py: the quote's China date
moved to the next China interbank business day; coupon dates rolled back from maturity by 12/f months):
- factor F: 1 - scheduled repayments on dates ≤ S; from the newest distribution report with `factor_after`
  and a payment date R ≤ S when there is one, less the scheduled repayments in (R, S]; never below 0;
- cash flows: each coupon date after S pays C/f on the principal outstanding before it, plus its scheduled
  repayment (capped at what is outstanding); maturity repays the rest; a yield to put cuts them at the first
  put date after S, which repays what is outstanding then;
- accrued interest and the final period's simple yield by market (streams/model/conventions.py);
- yield: dirty = Σᵢ CFᵢ / (1 + y/f)^(d/TS + i - 1) with two or more cash flows left, i = 1…n;
- WAL: Σ principalᵢ x (dateᵢ - S)/365 ÷ Σ principalᵢ; discount = 100 - clean; loss = outstanding x discount.

QuantLib supplies the calendar and the coupon schedule. The price-yield equation is solved here, not by
`FixedRateBond.bondYield`: the contract pays a full C/f on a stub first period, takes the factor from trustee
reports and quotes the final period on a simple yield, none of which a QuantLib bond does. Where their
conventions coincide (regular CIBM periods, a scheduled factor, two or more flows) the tests hold these
figures to QuantLib's `FixedRateBond` and `AmortizingFixedRateBond` (tests/unit/model/test_golden.py).

Derived on read, never stored; the cash flows are cached per terms, settlement date and factor, and a whole
result per price as well, since one quote's evidence and views ask for it several times.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from streams.model.conventions import accrued_interest, days_in_year_ending, final_period_yield_pct
from streams.model.events import TrancheTerms
from streams.model.schedule import period_of, settlement_date

__all__ = [
    "Analytics",
    "Flows",
    "analytics_at",
    "factor_at",
    "quote_analytics",
    "settlement_date",
]

FactorSource = Literal["schedule", "report", "none"]


@dataclass(frozen=True, slots=True)
class Factor:
    value: float
    source: FactorSource  # none: neither terms nor a report with factor_after (1.0 is used)
    report_date: dt.date | None = None


def factor_at(
    terms: TrancheTerms | None, reports: Iterable[tuple[dt.date, float]], settlement: dt.date
) -> Factor:
    """F at `settlement`, from the schedule and (payment date, factor_after) of the tranche's reports."""
    known = [(day, f) for day, f in reports if day <= settlement]
    newest = max(known) if known else None
    if terms is None:
        return Factor(newest[1], "report", newest[0]) if newest else Factor(1.0, "none")
    since = newest[0] if newest else None
    repaid = sum(
        a.pct_of_original
        for a in terms.amortisation
        if a.date <= settlement and (since is None or a.date > since)
    )
    if newest is None:
        return Factor(max(1.0 - repaid / 100, 0.0), "schedule")
    return Factor(max(newest[1] - repaid / 100, 0.0), "report", newest[0])


@dataclass(frozen=True, slots=True)
class Flows:
    """Cash flows after S per 100 outstanding at S: (date, interest + principal, principal), in date order."""

    settlement: dt.date
    start: dt.date
    end: dt.date
    to_maturity: tuple[tuple[dt.date, float, float], ...]
    to_put: tuple[tuple[dt.date, float, float], ...] | None

    @property
    def days_in_period(self) -> int:
        return (self.end - self.start).days


@lru_cache(maxsize=8192)
def cash_flows(terms: TrancheTerms, settlement: dt.date, factor: float) -> Flows:
    dates = terms.coupon_dates
    start, end, first = period_of(terms.issue_date, dates, settlement)
    scheduled = {a.date: a.pct_of_original for a in terms.amortisation}
    put = next((p for p in sorted(terms.put_dates) if p > settlement), None)
    outstanding, scale = 100 * factor, 1 / factor  # per 100 original; to per 100 outstanding at S
    rate = terms.coupon_pct / terms.coupon_frequency / 100
    flows: list[tuple[dt.date, float, float]] = []
    to_put = None
    for day in dates[first:]:
        coupon = rate * outstanding
        if day == put:
            to_put = (*flows, (day, (coupon + outstanding) * scale, outstanding * scale))
        principal = outstanding if day == terms.maturity_date else min(scheduled.get(day, 0.0), outstanding)
        outstanding -= principal
        flows.append((day, (coupon + principal) * scale, principal * scale))
        if outstanding <= 1e-12:
            break
    return Flows(settlement, start, end, tuple(flows), to_put)


def dirty_from_yield(flows: Flows, frequency: int, yield_pct: float) -> float:
    """The contract's price-yield equation, read the other way (the simple yield with one flow left)."""
    cut = flows.to_maturity
    if len(cut) == 1:
        day, amount, _ = cut[0]
        d = (day - flows.settlement).days
        return amount / (1 + yield_pct / 100 * d / days_in_year_ending(day))
    base = 1 + yield_pct / 100 / frequency
    first = (flows.end - flows.settlement).days / flows.days_in_period
    return float(sum(amount * base ** -(first + i) for i, (_, amount, _) in enumerate(cut)))


def _yield_pct(
    cut: tuple[tuple[dt.date, float, float], ...], flows: Flows, frequency: int, dirty: float
) -> float | None:
    """None when no yield reproduces the price (a non-positive dirty price, or no cash flow)."""
    if not cut or dirty <= 0:
        return None
    if len(cut) == 1:
        return final_period_yield_pct(cut[0][1], dirty, flows.settlement, cut[0][0])
    first = (flows.end - flows.settlement).days / flows.days_in_period
    times = [first + i for i in range(len(cut))]
    amounts = [amount for _, amount, _ in cut]
    # Newton on u = ln(1 + y/f): the present value Σ CFᵢ e^(-τᵢ u) is convex and falling in u, so from u = 0
    # the iterates close in on the root from its left after at most one step.
    u = 0.0
    for _ in range(100):
        terms = [a * math.exp(-t * u) for a, t in zip(amounts, times, strict=True)]
        value = sum(terms) - dirty
        slope = -sum(t * v for t, v in zip(times, terms, strict=True))
        if slope == 0 or not math.isfinite(value):
            return None
        step = value / slope
        u -= step
        if abs(step) < 1e-14:
            break
    else:
        return None
    result = 100 * frequency * math.expm1(u)
    return result if math.isfinite(result) else None


@dataclass(frozen=True, slots=True)
class Analytics:
    settlement: dt.date
    factor: float
    factor_source: FactorSource
    outstanding_principal: float  # currency units
    clean_price: float  # per 100 outstanding
    accrued_interest: float
    dirty_price: float
    ytm_pct: float | None
    ytp_pct: float | None  # None without a put date after settlement
    wal_years: float | None
    discount: float
    mark_to_market_loss: float

    def as_evidence(self) -> dict[str, float]:
        """Flat rounded floats for TrancheState.analytics; the settlement date as yyyymmdd."""
        out = {
            "factor": round(self.factor, 10),
            "outstanding_principal": round(self.outstanding_principal, 2),
            "clean_price": round(self.clean_price, 6),
            "accrued_interest": round(self.accrued_interest, 6),
            "dirty_price": round(self.dirty_price, 6),
            "discount": round(self.discount, 6),
            "mark_to_market_loss": round(self.mark_to_market_loss, 2),
            "settlement_yyyymmdd": float(self.settlement.strftime("%Y%m%d")),
        }
        for name in ("ytm_pct", "ytp_pct", "wal_years"):
            value = getattr(self, name)
            if value is not None:
                out[name] = round(value, 6)
        return out

    def as_row(self) -> dict[str, float | str | None]:
        """The contract's `tranches` row of `backtest --json`."""
        return {
            "settlement": self.settlement.isoformat(),
            "factor": self.factor,
            "factor_source": self.factor_source,
            "outstanding_principal": self.outstanding_principal,
            "clean_price": self.clean_price,
            "accrued_interest": self.accrued_interest,
            "dirty_price": self.dirty_price,
            "ytm_pct": self.ytm_pct,
            "ytp_pct": self.ytp_pct,
            "wal_years": self.wal_years,
            "discount": self.discount,
            "mark_to_market_loss": self.mark_to_market_loss,
        }


@lru_cache(maxsize=16384)
def analytics_at(terms: TrancheTerms, settlement: dt.date, factor: Factor, clean: float) -> Analytics | None:
    """None when S lies outside the tranche's life (before issue, at or after maturity) or nothing is left."""
    if not terms.issue_date <= settlement < terms.maturity_date or factor.value <= 0:
        return None
    flows = cash_flows(terms, settlement, factor.value)
    t = (settlement - flows.start).days
    accrued = accrued_interest(
        terms.market, terms.coupon_pct, terms.coupon_frequency, t, flows.days_in_period
    )
    dirty = clean + accrued
    f = terms.coupon_frequency
    principal = sum(p for _, _, p in flows.to_maturity)
    weighted = sum(p * (day - settlement).days for day, _, p in flows.to_maturity)
    outstanding = terms.face_value * factor.value
    discount = round(100.0 - clean, 10)
    return Analytics(
        settlement=settlement,
        factor=factor.value,
        factor_source=factor.source,
        outstanding_principal=outstanding,
        clean_price=clean,
        accrued_interest=accrued,
        dirty_price=dirty,
        ytm_pct=_yield_pct(flows.to_maturity, flows, f, dirty),
        ytp_pct=_yield_pct(flows.to_put, flows, f, dirty) if flows.to_put else None,
        wal_years=weighted / 365 / principal if principal > 0 else None,
        discount=discount,
        mark_to_market_loss=outstanding * discount / 100,
    )


def quote_analytics(
    terms: TrancheTerms,
    clean_price: float,
    quoted_at: dt.datetime,
    reports: Iterable[tuple[dt.date, float]] = (),
) -> Analytics | None:
    """At a quote's settlement, the factor from the schedule and (payment date, factor_after) reports."""
    settlement = settlement_date(quoted_at)
    return analytics_at(terms, settlement, factor_at(terms, reports, settlement), clean_price)
