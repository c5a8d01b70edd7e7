"""issuance_value_record: the sum of tranche face values per China-time year against every earlier year and
a baseline by value; a record by count is not one by value, and a deal counts once whichever rule runs."""

from __future__ import annotations

import pytest

from streams.model.events import Deal
from streams.model.state import MarketState
from streams.rules.config import IssuanceRecordConfig, IssuanceValueRecordConfig
from streams.rules.issuance_record import count_deal
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import alert, deal, replay, severity, terms


def _deals(per_year: dict[int, list[float]]) -> list[Deal]:
    """One deal per face value given, each with two tranches of half that value."""
    return [
        deal(
            f"d-{y}-{i}",
            f"D{y}-{i}",
            f"{y}-03-{i + 1:02d}",
            [terms(f"T{y}-{i}-A", face_value=v / 2), terms(f"T{y}-{i}-B", face_value=v / 2)],
            issuer_id=f"i{i}",
        )
        for y, values in per_year.items()
        for i, v in enumerate(values)
    ]


def test_fires_once_when_the_years_value_passes_every_earlier_year() -> None:
    snap = replay(_deals({2023: [3e9], 2024: [1e9, 1e9, 1.5e9]}))
    notices = [n for n in snap.notices if n.rule == "issuance_value_record"]
    assert [(n.subject.year, n.status, n.evidence["face_value"]) for n in notices] == [
        (2024, "firing", 3.5e9)
    ]
    found = notices[0]
    assert found.severity == "info" and found.event_time.isoformat() == "2024-03-03T09:30:00+08:00"
    assert found.summary == (
        "Rmb3.50bn of ABS tranches announced in 2024 (3 deals), a record by value: the largest earlier year, "
        "2023, had Rmb3.00bn"
    )


def test_a_record_by_count_need_not_be_one_by_value() -> None:
    """The seed story: more deals than ever, but by value only the highest in four years."""
    snap = replay(_deals({2021: [9e9], 2022: [8e9], 2023: [7e9], 2024: [1e9, 1e9, 1e9, 1e9, 1e9]}))
    assert severity(snap, "issuance_record", "2024") == "info"
    assert severity(snap, "issuance_value_record", "2024") is None
    assert snap.market.deal_values["2024"] == pytest.approx(5e9)


def test_equalling_the_record_is_not_a_record_and_the_year_over_resolves() -> None:
    assert severity(replay(_deals({2024: [2e9], 2025: [1e9, 1e9]})), "issuance_value_record", "2025") is None
    snap = replay(_deals({2024: [2e9], 2025: [3e9], 2026: [1e8]}))
    assert severity(snap, "issuance_value_record", "2025") == "resolved"
    assert severity(snap, "issuance_value_record", "2026") is None


def test_baseline_by_value_counts_as_an_earlier_year() -> None:
    rules = RulesConfig(issuance_value_record=IssuanceValueRecordConfig(baseline={2023: 5e9}))
    assert severity(replay(_deals({2024: [5e9]}), rules), "issuance_value_record", "2024") is None
    found = alert(replay(_deals({2024: [6e9]}), rules), "issuance_value_record", "2024")
    assert found is not None
    assert (found.evidence["best_earlier_year"], found.evidence["best_from_baseline"]) == (2023, True)


def test_counted_once_whichever_rule_is_on() -> None:
    events = _deals({2024: [1e9], 2025: [1e9, 1e9]})
    again = events[-1].model_copy(update={"event_id": "again"})
    for count_on in (True, False):
        rules = RulesConfig(issuance_record=IssuanceRecordConfig(enabled=count_on))
        snap = replay([*events, again], rules)
        assert snap.market.deal_values == {"2024": 1e9, "2025": 2e9}
        assert severity(snap, "issuance_value_record", "2025") == "info"
    off = RulesConfig(issuance_value_record=IssuanceValueRecordConfig(enabled=False))
    assert severity(replay(events, off), "issuance_value_record", "2025") is None


def test_a_year_counted_before_values_were_kept_has_no_value() -> None:
    """State written by an older version: 2025 counted one deal without a value. Its value stays unknown
    (neither a record nor an earlier year), where counting on from zero would understate it."""
    market = MarketState(deals_by_year={"2025": ["D-old"]}, deal_counts={"2025": 1})
    later = _deals({2025: [1e9, 4e9]})[1]
    assert count_deal(market, later, keep_ids_years=2)
    assert market.deal_counts == {"2025": 2} and market.deal_values == {}
