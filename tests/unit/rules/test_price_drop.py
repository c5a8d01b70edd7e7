"""price_drop: the look-back high, threshold edges, the window's edges, resolution and the bounded window."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.model.state import QuoteMark
from streams.rules.config import PriceDropConfig
from streams.rules.price_drop import remember, window_high
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import deal, quote, replay, severity, terms

DEAL = deal("d-1", "WHBUS-2025", "2025-01-10", [terms("A")])


def _run(*points: tuple[str, float], rules: RulesConfig | None = None) -> str | None:
    quotes = [quote(f"q-{i}", "A", when, p) for i, (when, p) in enumerate(points)]
    return severity(replay([DEAL, *quotes], rules), "price_drop", "A")


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        ((("2025-09-01", 100.0), ("2025-09-03", 98.01)), None),
        ((("2025-09-01", 100.0), ("2025-09-03", 98.0)), "warning"),  # exactly 2.0
        ((("2025-09-01", 100.0), ("2025-09-03", 96.01)), "warning"),
        ((("2025-09-01", 100.0), ("2025-09-03", 96.0)), "critical"),  # exactly 4.0
        # a high in the window may be exactly 7 days old, not a minute more (unless it is the previous quote)
        (
            (("2025-09-01T09:30:00+08:00", 100.0), ("2025-09-02", 97.5), ("2025-09-08T09:30:00+08:00", 97.0)),
            "warning",
        ),
        (
            (("2025-09-01T09:29:00+08:00", 100.0), ("2025-09-02", 97.5), ("2025-09-08T09:30:00+08:00", 97.0)),
            "resolved",  # 2.5 under 100 on 2 Sep; 100 has left the window by 8 Sep
        ),
        # v2: the newest earlier quote counts however old (issue 16: 100, then 96.5 nine days later)
        ((("2025-09-01", 100.0), ("2025-09-10", 96.5)), "warning"),
        ((("2025-09-01", 100.0), ("2025-10-30", 95.9)), "critical"),
        # the high is the highest of the window, not the latest
        ((("2025-09-01", 100.0), ("2025-09-02", 99.0), ("2025-09-03", 97.5)), "warning"),
        # a slow slide in steps under 2.0 still fires once it is 2.0 under the week's high
        ((("2025-09-01", 100.0), ("2025-09-02", 98.9), ("2025-09-03", 97.9)), "warning"),
        # resolution: within 1.5 of the high, or the high leaving the window
        ((("2025-09-01", 100.0), ("2025-09-02", 97.5), ("2025-09-03", 98.4)), "warning"),
        ((("2025-09-01", 100.0), ("2025-09-02", 97.5), ("2025-09-03", 98.6)), "resolved"),
        ((("2025-09-01", 100.0), ("2025-09-02", 97.5), ("2025-09-10", 97.5)), "resolved"),
        ((("2025-09-01", 100.0), ("2025-09-10", 96.5), ("2025-09-11", 96.5)), "resolved"),
        ((("2025-09-01", 100.0), ("2025-09-02", 95.0), ("2025-09-03", 97.0)), "warning"),  # eases
    ],
)
def test_price_drop_table(points: tuple[tuple[str, float], ...], expected: str | None) -> None:
    assert _run(*points) == expected


def test_evidence_names_the_high_and_its_quote() -> None:
    snap = replay([DEAL, quote("q-1", "A", "2025-09-01", 100.0), quote("q-2", "A", "2025-09-03", 96.5)])
    alert = snap.tranches["A"].alerts["price_drop"]
    ev = alert.evidence
    assert (ev["high"], ev["high_event_id"], ev["price"], ev["quote_event_id"]) == (100.0, "q-1", 96.5, "q-2")
    assert ev["drop"] == 3.5 and ev["mark_to_market_loss"] == pytest.approx(21e6)
    assert alert.summary == (
        "A at 96.50 is 3.50 below its 7-day high of 100.00 (Rmb21.0mn on Rmb600mn outstanding)"
    )


def test_late_quote_joins_the_window_and_can_only_escalate() -> None:
    late = quote("q-late", "A", "2025-09-02", 101.0)
    assert _run(("2025-09-01", 99.0), ("2025-09-03", 97.5)) is None
    snap = replay([DEAL, quote("q-1", "A", "2025-09-01", 99.0), quote("q-2", "A", "2025-09-03", 97.5), late])
    assert severity(snap, "price_drop", "A") == "warning"
    assert snap.tranches["A"].alerts["price_drop"].evidence["high_event_id"] == "q-late"


def test_window_keeps_only_possible_highs_and_stays_bounded() -> None:
    rising = [quote(f"q-{i}", "A", f"2025-09-01T10:{i:02d}:00+08:00", 90.0 + i / 10) for i in range(50)]
    assert len(replay([DEAL, *rising]).tranches["A"].recent) == 1
    falling = [
        quote(f"q-{i}", "A", f"2025-09-01T{10 + i // 60}:{i % 60:02d}:00+08:00", 99.0 - i / 100)
        for i in range(60)
    ]
    rules = RulesConfig(price_drop=PriceDropConfig(max_points=20))
    snap = replay([DEAL, *falling], rules)
    assert len(snap.tranches["A"].recent) == 20
    assert snap.tranches["A"].recent[0].price == 99.0  # the cap keeps the highs


def test_quotes_before_the_deal_are_judged_when_it_arrives() -> None:
    quotes = [quote("q-1", "A", "2025-09-01", 100.0), quote("q-2", "A", "2025-09-02", 97.0)]
    assert severity(replay([*quotes, DEAL]), "price_drop", "A") == "warning"


def _reference(
    recent: list[QuoteMark], mark: QuoteMark, newest: QuoteMark, cfg: PriceDropConfig
) -> list[QuoteMark]:
    """remember() before its fast path for the newest quote: filter the window, drop what `mark` tops, sort."""
    start = newest.ts - dt.timedelta(days=cfg.lookback_days)
    kept = [q for q in recent if q.ts >= start]
    if mark.ts < start or any(q.ts >= mark.ts and q.price >= mark.price for q in kept):
        return kept
    kept = [q for q in kept if not (q.ts <= mark.ts and q.price <= mark.price)]
    kept.append(mark)
    kept.sort(key=lambda q: q.ts)
    return kept[: cfg.max_points]


@given(
    st.lists(st.tuples(st.integers(0, 20 * 24), st.sampled_from([97.0, 98.0, 99.0, 100.0])), max_size=40),
    st.integers(2, 6),
)
def test_window_is_what_filtering_and_sorting_would_keep(points: list[tuple[int, float]], cap: int) -> None:
    """Quotes in any order, late ones and equal stamps included."""
    cfg = PriceDropConfig(lookback_days=2, max_points=cap)
    base = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    recent: list[QuoteMark] = []
    expected: list[QuoteMark] = []
    newest: QuoteMark | None = None
    for i, (hours, price) in enumerate(points):
        mark = QuoteMark(event_id=f"q-{i}", ts=base + dt.timedelta(hours=hours), price=price)
        newest = mark if newest is None or mark.ts >= newest.ts else newest
        recent, expected = remember(recent, mark, newest, cfg), _reference(expected, mark, newest, cfg)
        assert recent == expected


def _expected_high(seen: list[QuoteMark], newest: QuoteMark, cfg: PriceDropConfig) -> float:
    """The contract read literally: the highest of the window's quotes and of the newest earlier quote."""
    start = newest.ts - dt.timedelta(days=cfg.lookback_days)
    prices = [q.price for q in seen if start <= q.ts <= newest.ts]
    # Quotes by stamp, equal stamps in the order read: the newest is last, the newest earlier one before it.
    ordered = sorted(seen, key=lambda q: q.ts)
    assert ordered[-1] == newest
    if len(ordered) > 1 and cfg.compare_previous_quote:
        prices.append(ordered[-2].price)
    return max(prices)


@given(
    st.lists(st.tuples(st.integers(0, 20 * 24), st.sampled_from([97.0, 98.0, 99.0, 100.0])), max_size=30),
    st.booleans(),
)
def test_high_is_what_the_contract_says(points: list[tuple[int, float]], previous: bool) -> None:
    """Quotes in any order, late ones and equal stamps included: after each, the high agrees with a scan of
    every quote seen (the window's and the newest earlier one)."""
    cfg = PriceDropConfig(lookback_days=2, compare_previous_quote=previous)
    rules = RulesConfig(price_drop=cfg)
    base = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    snap = replay([DEAL], rules)
    seen: list[QuoteMark] = []
    for i, (hours, price) in enumerate(points):
        when = (base + dt.timedelta(hours=hours)).isoformat()
        snap = replay([quote(f"q-{i}", "A", when, price)], rules, snap)
        seen.append(QuoteMark(event_id=f"q-{i}", ts=base + dt.timedelta(hours=hours), price=price))
        tranche = snap.tranches["A"]
        assert tranche.last_quote is not None
        high = window_high(tranche, cfg)
        assert high is not None and high.price == _expected_high(seen, tranche.last_quote, cfg)


def test_evidence_says_when_the_high_is_the_previous_quote() -> None:
    snap = replay([DEAL, quote("q-1", "A", "2025-09-01", 100.0), quote("q-2", "A", "2025-09-10", 96.5)])
    alert = snap.tranches["A"].alerts["price_drop"]
    assert alert.severity == "warning"
    assert alert.evidence["high_basis"] == "previous_quote" and alert.evidence["days_since_high"] == 9.0
    assert alert.summary == (
        "A at 96.50 is 3.50 below its previous quote of 100.00 on 2025-09-01, 9 days earlier "
        "(Rmb21.0mn on Rmb600mn outstanding)"
    )


def test_v1_lookback_alone_when_switched_off() -> None:
    rules = RulesConfig(price_drop=PriceDropConfig(compare_previous_quote=False))
    assert _run(("2025-09-01", 100.0), ("2025-09-10", 96.5), rules=rules) is None
