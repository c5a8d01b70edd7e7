"""Coupon dates and settlement dates of the China interbank market (QuantLib's calendar and schedule rule).

Coupon dates roll back from `maturity_date` by 12/f months, unadjusted (a date past a month's end is that
month's last day, as QuantLib's backward rule does); `issue_date` starts the first period, so a first period
shorter or longer than 12/f months is a stub. Settlement is the quote's date in China time moved to the next
China interbank business day (alerts/core/china.py). Both are pure functions of dates and cached.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
from functools import lru_cache

from alerts.core.china import china_date, interbank_day_on_or_after


@lru_cache(maxsize=8192)
def coupon_dates(issue_date: dt.date, maturity_date: dt.date, frequency: int) -> tuple[dt.date, ...]:
    """The payment dates after `issue_date`, maturity last.

    QuantLib's backward `Schedule` (unadjusted, no end-of-month rule) by hand, since QuantLib refuses a date
    before 1901 even when the schedule would never need it; tests/unit/model/test_golden.py holds the two
    equal."""
    step = 12 // frequency
    dates = [maturity_date]
    k = 1
    while (day := _months_before(maturity_date, k * step)) > issue_date:
        dates.append(day)
        k += 1
    return tuple(reversed(dates))


def _months_before(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def period_of(
    issue_date: dt.date, dates: tuple[dt.date, ...], settlement: dt.date
) -> tuple[dt.date, dt.date, int]:
    """(start, end, index of end in `dates`) of the coupon period [start, end) holding `settlement`."""
    i = bisect.bisect_right(dates, settlement)
    if i >= len(dates) or settlement < issue_date:
        raise ValueError(f"{settlement} is outside the life {issue_date} to {dates[-1]}")
    return (dates[i - 1] if i else issue_date), dates[i], i


def settlement_date(quoted_at: dt.datetime) -> dt.date:
    return interbank_day_on_or_after(china_date(quoted_at))
