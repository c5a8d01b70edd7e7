"""stale_quote's relative threshold (off by default): max(trading_days, k x the median gap of a tranche's
last 20 quotes), the index key that makes one cutoff serve every threshold, bounded state, and the same
firing set whatever the interleaving."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.core.china import CHINA_TIME
from streams.model.events import Event
from streams.model.state import QuoteMark, TrancheState
from streams.rules import stale_quote
from streams.rules.config import StaleQuoteConfig
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import alert, all_alerts, at, deal, quote, replay, severity, terms

DEAL = deal("d-1", "WHBUS-2025", "2025-01-02", [terms("A"), terms("B")])
RELATIVE = {"relative": True, "relative_multiple": 3.0}
# A quoted on Monday 3 March and every Monday after it: gaps of 5 trading days.
WEEKLY = [f"2025-03-{d:02d}" for d in (3, 10, 17, 24, 31)]


def _rules(**cfg: object) -> RulesConfig:
    return RulesConfig.model_validate({"stale_quote": cfg})


def _stale(clock: str, rules: RulesConfig, days: list[str] = WEEKLY) -> str | None:
    quotes = [quote(f"qa-{i}", "A", d, 100.0) for i, d in enumerate(days)]
    return severity(replay([DEAL, *quotes, quote("qb", "B", clock, 100.0)], rules), "stale_quote", "A")


def test_weekly_paper_is_stale_after_three_weeks_not_one() -> None:
    """Issue 16: a fixed 5-day threshold floods the channel with info alerts on paper quoted weekly."""
    # 4 April 2025 is Qingming: 9 April is the 6th trading day after 31 March
    assert _stale("2025-04-09", RulesConfig()) == "info"
    rules = _rules(**RELATIVE)  # median gap 5, k = 3: 15 trading days
    assert _stale("2025-04-09", rules) is None
    assert _stale("2025-04-22", rules) is None  # 15 trading days after 31 March
    assert _stale("2025-04-23", rules) == "info"  # 16


def test_evidence_gives_the_usual_gap_and_the_threshold() -> None:
    quotes = [quote(f"qa-{i}", "A", d, 100.0) for i, d in enumerate(WEEKLY)]
    snap = replay([DEAL, *quotes, quote("qb", "B", "2025-04-23", 100.0)], _rules(**RELATIVE))
    found = alert(snap, "stale_quote", "A")
    assert found is not None
    assert found.evidence["threshold_trading_days"] == 15
    assert found.evidence["relative"]["median_gap_trading_days"] == 5.0
    assert found.evidence["relative"]["gaps_counted"] == 4
    assert found.summary.endswith("usually quoted every 5 trading days)")


@pytest.mark.parametrize(
    ("cfg", "clock", "expected"),
    [
        ({"relative_min_quotes": 6}, "2025-04-09", "info"),  # 5 quotes seen: too few, the fixed threshold
        ({"relative_max_trading_days": 10}, "2025-04-16", "info"),  # capped at 10: 11 days is stale
        ({"relative_max_trading_days": 10}, "2025-04-15", None),
        ({"relative_multiple": 1.5}, "2025-04-10", None),  # 7.5 -> more than 7: 7 days is not stale
        ({"relative_multiple": 1.5}, "2025-04-11", "info"),  # 8 days
        ({"relative": False}, "2025-04-09", "info"),
    ],
)
def test_knobs(cfg: dict[str, object], clock: str, expected: str | None) -> None:
    assert _stale(clock, _rules(**{**RELATIVE, **cfg})) == expected


def test_liquid_paper_keeps_the_fixed_threshold() -> None:
    daily = [f"2025-03-{d:02d}" for d in (3, 4, 5, 6, 7, 10)]
    rules = _rules(**RELATIVE)
    assert _stale("2025-03-18", rules, daily) == "info"  # median gap 1: max(5, 3) = 5; 6 days is stale


def test_gaps_are_bounded() -> None:
    days = [(dt.date(2025, 1, 2) + dt.timedelta(days=i)).isoformat() for i in range(60)]
    snap = replay([DEAL, *(quote(f"q-{i}", "A", d, 100.0) for i, d in enumerate(days))], _rules(**RELATIVE))
    assert len(snap.tranches["A"].quote_gaps) == 19  # the last 20 quotes
    assert not replay([DEAL, quote("q-1", "A", days[0], 100.0)]).tranches["A"].quote_gaps  # off: none


@settings(max_examples=200, deadline=None)
@given(
    last=st.dates(dt.date(2024, 12, 1), dt.date(2026, 2, 28)),
    extra=st.integers(0, 40),
    days_later=st.integers(0, 120),
)
def test_the_due_key_agrees_with_counting_trading_days(last: dt.date, extra: int, days_later: int) -> None:
    """Holidays and weekends included: the key is before the fixed cutoff exactly when more than
    trading_days + extra trading days have passed."""
    cfg = StaleQuoteConfig(
        relative=True, relative_min_quotes=3, relative_multiple=1.0, relative_max_trading_days=250
    )
    tranche = TrancheState(tranche_id="A", quote_gaps=[5 + extra] * 3)
    quoted = dt.datetime.combine(last, dt.time(14, 0), CHINA_TIME)
    tranche.last_quote = QuoteMark(event_id="q", ts=quoted, price=100.0)
    assert stale_quote.threshold(tranche, cfg) == 5 + extra
    clock = quoted + dt.timedelta(days=days_later)
    counted = stale_quote.trading_days_since(quoted, clock) > 5 + extra
    assert stale_quote.tranche_is_stale(tranche, clock, cfg) == counted


DAYS = [f"2025-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in range(2, 29, 3)]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_interleaving_gives_the_oracles_stale_set(data: st.DataObject) -> None:
    """Each tranche's quotes in time order on its own partition; the partitions interleaved at random."""
    cfg = StaleQuoteConfig(relative=True, relative_min_quotes=3)
    sequences: list[list[Event]] = []
    for tranche in ("A", "B", "C"):
        days = sorted(data.draw(st.lists(st.sampled_from(DAYS), max_size=8)))
        sequences.append([quote(f"q-{tranche}-{n}", tranche, day, 100.0) for n, day in enumerate(days)])
    labels = [i for i, seq in enumerate(sequences) for _ in seq]
    order = data.draw(st.permutations(labels))
    cursors = [iter(seq) for seq in sequences]
    snap = replay([next(cursors[i]) for i in order], RulesConfig(stale_quote=cfg))
    stale = {
        a.subject.tranche_id for a in all_alerts(snap) if a.rule == "stale_quote" and a.status == "firing"
    }
    newest = [seq[-1].event_time for seq in sequences if seq]
    expected: set[str] = set()
    if newest:
        clock = max(newest)
        for seq in sequences:
            if not seq:
                continue
            times = [q.event_time for q in seq]
            gaps = [stale_quote.trading_days_since(a, b) for a, b in itertools.pairwise(times)][-19:]
            state = TrancheState(tranche_id="x", quote_gaps=gaps)
            limit = stale_quote.threshold(state, cfg)
            if stale_quote.trading_days_since(times[-1], clock) > limit:
                expected.add(str(seq[0].tranche_id))  # type: ignore[union-attr]
    assert stale == expected
    assert snap.watching == sorted(snap.watching)


def test_at_rest_equals_the_fixed_rule_when_off() -> None:
    tranche = TrancheState(tranche_id="A", quote_gaps=[20, 20, 20, 20])
    tranche.last_quote = QuoteMark(event_id="q", ts=at("2025-03-03"), price=100.0)
    assert stale_quote.due_key(tranche, StaleQuoteConfig()) == tranche.last_quote.ts
