"""Accrued interest, dirty price and yield to maturity of a tranche at a quote, with QuantLib.

Conventions, chosen to follow the China interbank market (ChinaBond valuation) where QuantLib allows:
- Annual coupons of `coupon_pct` on 100 face, on the anniversaries of `issue_date` rolled back from
  `maturity_date`, unadjusted (coupons accrue and are discounted to the nominal dates; a payment postponed
  by a holiday earns nothing extra).
- Day count ActualActual(ISMA) on that schedule, for accrual and for the yield.
- Settlement T+0: the quote's date in China time, moved to the next China trading day (alerts/core/china.py:
  the exchange's calendar, the one the rules count in) when it is a weekend or holiday.
- Yield: annually compounded, solved from the clean price. ChinaBond quotes the final coupon period on a
  simple-interest yield; this module compounds there too (a few basis points apart in the last year).
Only the event's own date enters, never today's: results do not depend on QuantLib's evaluation date.

The bond for a set of terms is built once and cached; a quote then costs one accrual and one yield solve.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import QuantLib as ql

from alerts.core.china import CALENDAR, china_date, ql_date, trading_day_on_or_after
from streams.model.events import TrancheTerms


@dataclass(frozen=True, slots=True)
class Analytics:
    settlement: dt.date
    accrued_interest: float  # per 100 face
    dirty_price: float  # per 100 face
    ytm_pct: float | None  # None when no yield reproduces the price

    def as_evidence(self) -> dict[str, float]:
        """Flat floats for TrancheState.analytics; the settlement date as yyyymmdd."""
        out = {
            "accrued_interest": round(self.accrued_interest, 6),
            "dirty_price": round(self.dirty_price, 6),
            "settlement_yyyymmdd": float(self.settlement.strftime("%Y%m%d")),
        }
        if self.ytm_pct is not None:
            out["ytm_pct"] = round(self.ytm_pct, 6)
        return out


@dataclass(frozen=True, slots=True)
class _Bond:
    bond: ql.FixedRateBond
    day_count: ql.DayCounter


@lru_cache(maxsize=4096)
def _bond(coupon_pct: float, issue_date: dt.date, maturity_date: dt.date) -> _Bond:
    schedule = ql.Schedule(
        ql_date(issue_date),
        ql_date(maturity_date),
        ql.Period(ql.Annual),
        CALENDAR,
        ql.Unadjusted,
        ql.Unadjusted,
        ql.DateGeneration.Backward,
        False,
    )
    day_count = ql.ActualActual(ql.ActualActual.ISMA, schedule)
    bond = ql.FixedRateBond(
        0, 100.0, schedule, [coupon_pct / 100], day_count, ql.Unadjusted, 100.0, ql_date(issue_date), CALENDAR
    )
    return _Bond(bond, day_count)


def settlement_date(quoted_at: dt.datetime) -> dt.date:
    return trading_day_on_or_after(china_date(quoted_at))


def quote_analytics(terms: TrancheTerms, clean_price: float, quoted_at: dt.datetime) -> Analytics | None:
    """None when the quote settles outside the bond's life (before issue, at or after maturity)."""
    settlement = settlement_date(quoted_at)
    if not terms.issue_date <= settlement < terms.maturity_date:
        return None
    cached = _bond(terms.coupon_pct, terms.issue_date, terms.maturity_date)
    when = ql_date(settlement)
    accrued = cached.bond.accruedAmount(when)
    try:
        ytm: float | None = 100 * cached.bond.bondYield(
            ql.BondPrice(clean_price, ql.BondPrice.Clean),
            cached.day_count,
            ql.Compounded,
            ql.Annual,
            when,
            1e-12,
            200,
        )
    except RuntimeError:
        ytm = None  # an absurd price the solver cannot bracket; the quote still counts for the rules
    return Analytics(settlement, accrued, clean_price + accrued, ytm)
