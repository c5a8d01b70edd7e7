"""The two Chinese conventions QuantLib has no day counter or yield for, each with its source.

- Accrued interest on the exchanges (SSE, SZSE): annual coupon x days accrued / 365, whatever the coupon
  frequency and the period's length; in the interbank market (CIBM) the period's coupon x t / TS (days
  accrued over the period's days: QuantLib's ActualActual(ISMA) on a regular period). Source: the contract's
  Analytics section. The exchanges' own rule texts could not be reached from here; Wind's figures for one
  bond listed in both markets agree on the formula (18附息国债19, 3.54% semi-annual, 2022-10-18:
  180019.IB 0.606033 = 1.77 x 63/184; 019601.SH and 101819.SZ 0.620712 = 3.54 x 64/365) but count one day
  more on the exchanges. Unconfirmed, so the contract's t (days from the period's start to settlement) is
  kept; README "Tranche structure and Chinese market conventions" says so.
- The yield in the final coupon period (one cash flow left): ChinaBond's simple yield,
  y = (CF - dirty) / dirty x TY / D, D the days from settlement to the payment and TY the days of the year
  ending on the payment date (365 or 366). Source: the contract; ChinaBond's yield formulas for bonds in their
  final interest period (中债 "待偿期在一年及以内的附息债券" / 到期一次还本付息 formula, 单利).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

Market = Literal["CIBM", "SSE", "SZSE"]


def accrued_interest(
    market: Market, coupon_pct: float, frequency: int, days_accrued: int, days_in_period: int
) -> float:
    """Per 100 of outstanding principal at settlement."""
    if market == "CIBM":
        return coupon_pct / frequency * days_accrued / days_in_period
    return coupon_pct * days_accrued / 365


def days_in_year_ending(day: dt.date) -> int:
    """366 when the year up to `day` holds a 29 February, else 365."""
    try:
        before = day.replace(year=day.year - 1)
    except ValueError:  # 29 February: a year earlier is 28 February, and the year holds this 29 February
        before = day.replace(year=day.year - 1, day=28)
    return (day - before).days


def final_period_yield_pct(cash_flow: float, dirty: float, settlement: dt.date, payment: dt.date) -> float:
    """ChinaBond's simple yield for a single cash flow left, in percent."""
    days = (payment - settlement).days
    return 100 * (cash_flow - dirty) / dirty * days_in_year_ending(payment) / days
