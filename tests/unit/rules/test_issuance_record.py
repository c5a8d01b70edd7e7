"""issuance_record: distinct deals per China-time year against every earlier year and the baseline."""

from __future__ import annotations

from streams.model.events import Deal
from streams.rules.config import IssuanceRecordConfig
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import alert, deal, replay, severity, terms


def _deals(per_year: dict[int, int]) -> list[Deal]:
    return [
        deal(f"d-{y}-{i}", f"D{y}-{i}", f"{y}-03-{i + 1:02d}", [terms(f"T{y}-{i}")], issuer_id=f"i{i}")
        for y, n in per_year.items()
        for i in range(n)
    ]


def _record(per_year: dict[int, int], year: int, rules: RulesConfig | None = None) -> str | None:
    return severity(replay(_deals(per_year), rules), "issuance_record", str(year))


def test_a_year_with_nothing_earlier_never_fires() -> None:
    assert _record({2024: 5}, 2024) is None


def test_fires_once_when_passing_the_best_earlier_year() -> None:
    snap = replay(_deals({2023: 1, 2024: 2, 2025: 4}))
    notices = [n for n in snap.notices if n.rule == "issuance_record" and n.status == "firing"]
    assert [(n.subject.year, n.severity, n.evidence["deals"]) for n in notices] == [
        (2024, "info", 2),
        (2025, "info", 3),
    ]
    assert severity(snap, "issuance_record", "2024") == "resolved"  # over once 2025 began
    assert severity(snap, "issuance_record", "2025") == "info"


def test_equalling_the_record_is_not_a_record() -> None:
    assert _record({2024: 2, 2025: 2}, 2025) is None


def test_baseline_counts_as_an_earlier_year() -> None:
    rules = RulesConfig(issuance_record=IssuanceRecordConfig(baseline={2023: 5}))
    assert _record({2024: 5}, 2024, rules) is None
    snap = replay(_deals({2024: 6}), rules)
    found = alert(snap, "issuance_record", "2024")
    assert found is not None
    assert (found.evidence["best_earlier_year"], found.evidence["best_from_baseline"]) == (2023, True)
    assert found.summary == "6 ABS deals announced in 2024, a record: the best earlier year, 2023, had 5"


def test_year_is_china_time() -> None:
    new_year = deal("d-x", "DX", "2024-12-31T17:00:00+00:00", [terms("TX")])  # 01:00 on 1 Jan 2025 in Beijing
    snap = replay([*_deals({2024: 1}), new_year, *_deals({2025: 1})])
    assert snap.market.deal_counts == {"2024": 1, "2025": 2}


def test_a_deal_announced_again_counts_once() -> None:
    first = _deals({2025: 1})[0]
    snap = replay([first, first.model_copy(update={"event_id": "again"})])
    assert snap.market.deal_counts == {"2025": 1}


def test_ids_are_kept_for_recent_years_only() -> None:
    snap = replay(_deals({2021: 1, 2022: 1, 2023: 1, 2024: 1}))
    assert set(snap.market.deals_by_year) == {"2023", "2024"}
    assert set(snap.market.deal_counts) == {"2021", "2022", "2023", "2024"}
    late = deal("late", "LATE", "2021-06-01", [terms("TL")])
    assert replay([late], snap=snap).market.deal_counts["2021"] == 1  # too late to count
