from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from alerts.core.china import CHINA_TIME
from alerts.core.model import Alert, Subject
from alerts.mute.schedule import in_schedule
from alerts.mute.silence import Silence

NOW = dt.datetime(2025, 9, 1, 12, tzinfo=dt.UTC)


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=CHINA_TIME)


@pytest.mark.parametrize(
    ("when", "weekends", "holidays", "non_trading"),
    [
        (at("2025-09-01"), False, False, False),  # Monday
        (at("2025-09-06"), True, False, True),  # Saturday
        (at("2025-10-01"), False, True, True),  # National Day, a Wednesday
        (at("2025-01-29"), False, True, True),  # Spring Festival
        (at("2025-10-11"), True, False, True),  # a make-up working Saturday: the exchanges stay shut
    ],
)
def test_recurring_schedules(when: dt.datetime, weekends: bool, holidays: bool, non_trading: bool) -> None:
    assert in_schedule("weekends", when) is weekends
    assert in_schedule("cn_holidays", when) is holidays
    assert in_schedule("non_trading_days", when) is non_trading


def test_schedule_uses_china_time() -> None:
    friday_late_utc = dt.datetime(2025, 9, 5, 17, tzinfo=dt.UTC)  # Saturday 01:00 in Shanghai
    assert in_schedule("weekends", friday_late_utc)


def alert(event_time: dt.datetime, rule: str = "stale_quote") -> Alert:
    return Alert(
        fingerprint="fp",
        rule=rule,
        severity="info",
        status="firing",
        subject=Subject(tranche_id="T"),
        starts_at=event_time,
        event_time=event_time,
        summary="s",
        evidence={},
    )


def silence(**kw: object) -> Silence:
    base: dict[str, object] = {
        "matchers": ["rule=stale_quote"],
        "starts_at": NOW - dt.timedelta(hours=1),
        "ends_at": NOW + dt.timedelta(hours=1),
        "created_by": "ana",
        "comment": "feed fix",
    }
    return Silence.model_validate(base | kw)


def test_silence_window_and_matchers() -> None:
    s = silence()
    labels = {"rule": "stale_quote"}
    assert s.mutes(alert(NOW), labels, NOW)
    assert not s.mutes(alert(NOW), {"rule": "below_par"}, NOW)
    assert not s.mutes(alert(NOW), labels, NOW + dt.timedelta(hours=2))
    assert s.state(NOW - dt.timedelta(hours=2)) == "pending"


def test_recurring_silence_mutes_only_scheduled_event_days() -> None:
    s = silence(recurring="weekends", ends_at=NOW + dt.timedelta(days=365))
    labels = {"rule": "stale_quote"}
    assert s.mutes(alert(at("2025-09-06")), labels, NOW)
    assert not s.mutes(alert(at("2025-09-08")), labels, NOW)


@pytest.mark.parametrize(
    "bad",
    [
        {"matchers": []},
        {"matchers": ["region=x"]},
        {"ends_at": NOW - dt.timedelta(days=1)},
        {"comment": ""},
        {"recurring": "mondays"},
        {"colour": "red"},
    ],
)
def test_invalid_silences_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        silence(**bad)
