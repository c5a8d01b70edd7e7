"""Recurring mute schedules: weekends and Chinese public holidays, judged on the notice's event time in
China, so that a replay mutes exactly what the live run muted."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

CHINA = ZoneInfo("Asia/Shanghai")
Recurrence = Literal["weekends", "cn_holidays", "non_trading_days"]


@functools.lru_cache(maxsize=64)
def _cn_holidays(year: int) -> holidays.HolidayBase:
    # `holidays` (MIT, released monthly) carries the State Council's yearly announcements for CN.
    return holidays.country_holidays("CN", years=year)


def is_cn_holiday(day: dt.date) -> bool:
    return day in _cn_holidays(day.year)


def china_date(when: dt.datetime) -> dt.date:
    return when.astimezone(CHINA).date()


def in_schedule(recurrence: Recurrence, when: dt.datetime) -> bool:
    day = china_date(when)
    weekend = day.weekday() >= 5
    if recurrence == "weekends":
        return weekend
    if recurrence == "cn_holidays":
        return is_cn_holiday(day)
    # The exchanges stay shut on the make-up working Saturdays too, so a non-trading day is either.
    return weekend or is_cn_holiday(day)
