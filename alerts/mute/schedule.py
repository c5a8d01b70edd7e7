"""Recurring mute schedules: weekends, the exchange's holidays and non-trading days (alerts/core/china.py, the
calendar the rules count trading days in), judged on the notice's event time in China, so that a replay
mutes exactly what the live run muted."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from alerts.core.china import china_date, is_exchange_holiday, is_trading_day

# cn_holidays: the weekdays the exchange is closed for a holiday (a weekend is `weekends`).
Recurrence = Literal["weekends", "cn_holidays", "non_trading_days"]


def in_schedule(recurrence: Recurrence, when: dt.datetime) -> bool:
    day = china_date(when)
    if recurrence == "weekends":
        return day.weekday() >= 5
    if recurrence == "cn_holidays":
        return is_exchange_holiday(day)
    # The exchange stays shut on the make-up working Saturdays too.
    return not is_trading_day(day)
