"""stale_quote: China trading days at the edges (weekends, Spring Festival, National Day, make-up Saturdays),
resolution by the next quote, late quotes, numbering across episodes, and the interleaving invariant."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.model.events import Event
from streams.rules import stale_quote
from streams.rules.config import StaleQuoteConfig
from streams.rules.registry import RulesConfig
from tests.unit.rules.scenario import alert, all_alerts, at, deal, quote, replay, severity, terms

DEAL = deal("d-1", "WHBUS-2025", "2025-01-02", [terms("A"), terms("B")])


def _stale_after(last: str, clock: str, **cfg: object) -> str | None:
    """Severity of A's stale_quote once B, quoted at `clock`, moves the clock past A's quote at `last`."""
    rules = RulesConfig.model_validate({"stale_quote": cfg}) if cfg else RulesConfig()
    snap = replay([DEAL, quote("qa", "A", last, 100.0), quote("qb", "B", clock, 100.0)], rules)
    return severity(snap, "stale_quote", "A")


@pytest.mark.parametrize(
    ("last", "clock", "expected"),
    [
        ("2025-01-06", "2025-01-13", None),  # Mon -> Mon: 5 trading days after, not more
        ("2025-01-06", "2025-01-14", "info"),  # 6
        ("2025-01-10", "2025-01-18", None),  # Fri -> Sat: the weekend adds nothing (5)
        ("2025-01-10", "2025-01-20", "info"),  # Fri -> Mon: 6
        # Spring Festival 2025: closed 28 Jan to 4 Feb; Sunday 26 Jan was a make-up working day, the exchange
        # stayed shut. 24 Jan (Fri) -> 10 Feb is 17 calendar days but 5 trading days: 27 Jan, 5-7 and 10 Feb.
        ("2025-01-24", "2025-02-10", None),
        ("2025-01-24", "2025-02-11", "info"),
        # National Day 2025: closed 1 to 8 Oct; Saturday 11 Oct a make-up working day, the exchange shut.
        ("2025-09-30", "2025-10-15", None),  # 9, 10, 13, 14, 15 Oct
        ("2025-09-30", "2025-10-16", "info"),
        ("2025-01-06T23:59:00+08:00", "2025-01-14T00:00:00+08:00", "info"),
        # China dates whatever the offset: 20:00 in New York on 6 Jan is 09:00 on 7 Jan in Shanghai.
        ("2025-01-06T20:00:00-05:00", "2025-01-14", None),
    ],
)
def test_trading_day_edges(last: str, clock: str, expected: str | None) -> None:
    assert _stale_after(last, clock) == expected


def test_threshold_is_configurable_and_the_rule_can_be_off() -> None:
    assert _stale_after("2025-01-06", "2025-01-08", trading_days=1) == "info"
    assert _stale_after("2025-01-06", "2025-01-07", trading_days=1) is None
    assert _stale_after("2025-01-06", "2025-03-01", enabled=False) is None


def test_counting_agrees_with_the_cutoff() -> None:
    cfg = StaleQuoteConfig()
    last = at("2025-01-24")
    for day in range(40):
        clock = last + dt.timedelta(days=day)
        days = stale_quote.trading_days_since(last, clock)
        assert stale_quote.is_stale(last, clock, cfg) == (days > cfg.trading_days), clock


def test_evidence_explains_the_alert() -> None:
    snap = replay([DEAL, quote("qa", "A", "2025-01-06", 99.5), quote("qb", "B", "2025-01-20", 100.0)])
    found = alert(snap, "stale_quote", "A")
    assert found is not None and found.status == "firing" and found.severity == "info"
    assert found.event_time == at("2025-01-20")
    assert found.subject.issuer_id == "wuhan-bus" and found.subject.deal_id == "WHBUS-2025"
    assert found.evidence["trading_days_without_quote"] == 10
    assert found.evidence["last_price"] == 99.5 and found.evidence["threshold_trading_days"] == 5
    assert "10 China trading days" in found.summary


def test_next_quote_resolves_and_the_next_episode_numbers_on() -> None:
    events: list[Event] = [
        DEAL,
        quote("q1", "A", "2025-01-06", 100.0),
        quote("q2", "B", "2025-01-20", 100.0),  # A stale (seq 1)
        quote("q3", "A", "2025-01-21", 99.0),  # resolves (seq 2)
        quote("q4", "B", "2025-02-20", 100.0),  # stale again (seq 3)
    ]
    snap = replay(events)
    notices = [n for n in snap.notices if n.rule == "stale_quote" and n.subject.tranche_id == "A"]
    assert [(n.status, n.seq) for n in notices] == [("firing", 1), ("resolved", 2), ("firing", 3)]
    assert notices[1].ends_at == at("2025-01-21") and "quoted again at 99.00" in notices[1].summary
    assert len({n.fingerprint for n in notices}) == 1


def test_late_or_still_old_quotes_do_not_resolve() -> None:
    base: list[Event] = [DEAL, quote("q1", "A", "2025-01-10", 100.0), quote("q2", "B", "2025-02-20", 100.0)]
    late = replay([*base, quote("q3", "A", "2025-01-09", 100.0)])  # older than A's newest: moves nothing
    assert severity(late, "stale_quote", "A") == "info"
    old = replay([*base, quote("q3", "A", "2025-01-15", 100.0)])  # newer, but still too old for the clock
    assert severity(old, "stale_quote", "A") == "info"
    fresh = replay([*base, quote("q3", "A", "2025-02-19", 100.0)])
    assert severity(fresh, "stale_quote", "A") == "resolved"


def test_never_quoted_tranches_are_never_stale_and_the_index_holds_each_quoted_one_once() -> None:
    snap = replay([DEAL, quote("q1", "A", "2025-01-06", 100.0), quote("q2", "A", "2025-03-06", 100.0)])
    assert severity(snap, "stale_quote", "B") is None
    assert [t for _, t in snap.watching] == ["A"]


# --- the firing set depends on each tranche's newest quote and the clock only ------------------------------

DAYS = [f"2025-{m:02d}-{d:02d}" for m in (1, 2) for d in range(2, 29, 2)]


@st.composite
def per_tranche_quotes(draw: st.DrawFn) -> list[list[Event]]:
    """Each tranche's own sequence (one partition each), not necessarily in time order."""
    out: list[list[Event]] = []
    for tranche in ("A", "B", "C", "D"):
        days = draw(st.lists(st.sampled_from(DAYS), max_size=5))
        out.append([quote(f"q-{tranche}-{n}", tranche, day, 100.0) for n, day in enumerate(days)])
    return out


def _oracle(sequences: list[list[Event]], cfg: StaleQuoteConfig) -> set[str]:
    newest = {str(seq[0].tranche_id): max(q.event_time for q in seq) for seq in sequences if seq}  # type: ignore[union-attr]
    if not newest:
        return set()
    clock = max(newest.values())
    return {t for t, last in newest.items() if stale_quote.trading_days_since(last, clock) > cfg.trading_days}


@settings(max_examples=200, deadline=None)
@given(sequences=per_tranche_quotes(), data=st.data())
def test_any_interleaving_of_partitions_gives_the_oracles_stale_set(
    sequences: list[list[Event]], data: st.DataObject
) -> None:
    labels = [i for i, seq in enumerate(sequences) for _ in seq]
    order = data.draw(st.permutations(labels))
    cursors = [iter(seq) for seq in sequences]
    snap = replay([next(cursors[i]) for i in order])
    stale = {
        a.subject.tranche_id for a in all_alerts(snap) if a.rule == "stale_quote" and a.status == "firing"
    }
    assert stale == _oracle(sequences, StaleQuoteConfig())
    assert snap.watching == sorted(snap.watching)
    assert not {t for _, t in snap.watching} & stale  # each quoted tranche in one place only
