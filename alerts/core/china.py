"""China time and China's trading days: one definition for the rules, the analytics, the digests and the
recurring silences.

It lives on the alert side because both sides need it and `alerts` never imports `streams` (the stream side
may import `alerts`); it depends on nothing of either.

- Time: UTC+8 all year (China keeps no daylight saving time). A "China date" is an instant's date there,
  whatever offset the instant was written with.
- Trading days (rules, digests, silences): the Shanghai Stock Exchange's, from QuantLib's `China(China.SSE)`: weekends and the
  exchange's holidays are closed, and so are the make-up working Saturdays of the State Council's schedule,
  as the exchange keeps them. QuantLib was already the analytics' library (BSD-3, maintained, China's
  holidays updated with each year's schedule); the `holidays` package, which recurring silences used, lists
  the statutory holidays only (it would call the bridge days of the Golden Week trading days), so the two
  could disagree on whether a quote was due. Years QuantLib does not know yet count weekends only.
- Settlement (analytics): the interbank market's business days, as the wire contract defines it.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import QuantLib as ql

CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "China")
CALENDAR = ql.China(ql.China.SSE)
CALENDAR_NAME = "China SSE trading days (QuantLib)"


def china_date(stamp: dt.datetime) -> dt.date:
    return stamp.astimezone(CHINA_TIME).date()


def ql_date(day: dt.date) -> ql.Date:
    return ql.Date(day.day, day.month, day.year)


def py_date(day: ql.Date) -> dt.date:
    return dt.date(day.year(), day.month(), day.dayOfMonth())


@lru_cache(maxsize=4096)
def is_trading_day(day: dt.date) -> bool:
    return bool(CALENDAR.isBusinessDay(ql_date(day)))


def is_exchange_holiday(day: dt.date) -> bool:
    """A weekday the exchange is closed (a weekend is closed anyway)."""
    return day.weekday() < 5 and not is_trading_day(day)


@lru_cache(maxsize=4096)
def trading_day_on_or_after(day: dt.date) -> dt.date:
    return py_date(CALENDAR.adjust(ql_date(day), ql.Following))


# Settlement is not a trading-day question: the wire contract ("Analytics") settles a quote on the next
# China interbank business day, where the make-up working weekend days are open. Defined here beside the
# trading days so that China's calendars live in one module; only the settlement date uses it.
INTERBANK = ql.China(ql.China.IB)


@lru_cache(maxsize=4096)
def interbank_day_on_or_after(day: dt.date) -> dt.date:
    # A pure function of the date, and a quote's date repeats across a whole market's quotes.
    return py_date(INTERBANK.adjust(ql_date(day), ql.Following))
