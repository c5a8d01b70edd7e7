"""future_timestamp and after_maturity (contract v2): the edges, the clock left alone, quotes read before
their tranche's terms, and the dead letters' kinds and reasons."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from streams.engine.pipeline import BatchHandler
from streams.engine.quote_checks import settles_after_maturity
from streams.ingest.deadletter import Envelope
from streams.metrics import Metrics
from streams.model.analytics import settlement_date
from streams.rules.registry import RulesConfig
from streams.state.memory_store import MemoryStore
from tests.unit.engine.test_pipeline import RecordingPublisher
from tests.unit.rules.scenario import all_alerts, deal, firing, quote, replay, severity, terms

CHINA = dt.timezone(dt.timedelta(hours=8))
# The broker stamped every record of these tests at 10:00 China time on 2 December 2025.
RECORDED = dt.datetime(2025, 12, 2, 10, 0, tzinfo=CHINA)


def deal_value(maturity: str = "2035-01-15") -> dict[str, Any]:
    return {
        "event_id": "d-1",
        "deal_id": "D",
        "issuer_id": "I",
        "issuer_name": "Issuer",
        "announced_at": "2025-01-10T10:00:00+08:00",
        "asset_type": "transport_revenue",
        "tranches": [
            {"tranche_id": t, "face_value": 6e8, "coupon_pct": 2.6, "issue_date": "2025-01-15",
             "maturity_date": maturity}
            for t in ("A", "B", "C")
        ],
    }  # fmt: skip


def quote_value(event_id: str, tranche: str, ts: str, price: float = 100.0) -> dict[str, Any]:
    return {"event_id": event_id, "tranche_id": tranche, "ts": ts, "price": price}


class Run:
    def __init__(self, rules: RulesConfig | None = None) -> None:
        self.store, self.publisher = MemoryStore(), RecordingPublisher()
        self.metrics = Metrics(CollectorRegistry())
        self.handler = BatchHandler(self.store, rules or RulesConfig(), self.publisher, self.metrics)
        self.offset = 0

    async def send(self, topic: str, *values: dict[str, Any], recorded: dt.datetime = RECORDED) -> None:
        batch = []
        for value in values:
            self.offset += 1
            raw = json.dumps(value).encode()
            batch.append(Envelope(topic, 0, self.offset, None, raw, 0.0, recorded.timestamp()))
        await self.handler.handle(batch)

    def kinds(self) -> list[str]:
        return [dict(headers)["tw-reason-kind"].decode() for *_, headers in self.publisher.records]

    def reasons(self) -> list[str]:
        return [dict(headers)["tw-reason"].decode() for *_, headers in self.publisher.records]

    def stale(self) -> list[str]:
        return sorted(a.subject.tranche_id or "" for a in self.store.outbox if a.rule == "stale_quote")


@pytest.mark.parametrize(
    ("ahead", "kind"),
    [
        (dt.timedelta(minutes=10), None),  # exactly 10 minutes: a clock a little fast is tolerated
        (dt.timedelta(minutes=10, seconds=1), "future_timestamp"),
        (-dt.timedelta(days=400), None),  # old quotes are history, not skew
    ],
)
async def test_future_timestamp_edges(ahead: dt.timedelta, kind: str | None) -> None:
    run = Run()
    await run.send("bond.quotes", quote_value("q-1", "A", (RECORDED + ahead).isoformat()))
    assert run.kinds() == ([kind] if kind else [])


async def test_a_quote_stamped_2052_moves_no_clock_and_floods_nothing() -> None:
    """Issue 16: one quote stamped 2052 moved the market clock 27 years ahead and every other tranche went
    stale at 7,002 trading days, with no genuine quote able to resolve them. Since issue 17 such a clock does
    worse without the check: it retires every tranche maturing before 2052 for good (streams/engine/retire.py),
    so here the unchecked run is shown without retirement, then with it."""
    for check, expected_stale in ((True, []), (False, ["A", "B", "C"])):
        rules = RulesConfig.model_validate({"future_timestamp": {"enabled": check}})
        run = Run(rules)
        run.handler.retire_after = None
        await run.send("abs.deals", deal_value())
        await run.send(
            "bond.quotes",
            quote_value("q-a", "A", "2025-12-01T09:30:00+08:00"),
            quote_value("q-b", "B", "2025-12-01T09:30:00+08:00"),
            quote_value("q-c", "C", "2025-12-01T09:30:00+08:00"),
        )
        # X has no known terms, so after_maturity cannot catch it
        await run.send("bond.quotes", quote_value("q-x", "X", "2052-12-01T09:30:00+08:00"))
        assert run.stale() == expected_stale
        if check:
            assert run.store.event_clock == dt.datetime(2025, 12, 1, 9, 30, tzinfo=CHINA)
            assert run.kinds() == ["future_timestamp"]
            assert "9,861.0 days ahead of its Kafka record" in run.reasons()[0]
            labels = {"topic": "bond.quotes", "reason": "future_timestamp"}
            assert run.metrics.registry.get_sample_value("tranchewatch_deadletters_total", labels) == 1
        else:
            assert run.store.event_clock is not None and run.store.event_clock.year == 2052
    retiring = Run(RulesConfig.model_validate({"future_timestamp": {"enabled": False}}))
    await retiring.send("abs.deals", deal_value())
    await retiring.send("bond.quotes", quote_value("q-a", "A", "2025-12-01T09:30:00+08:00"))
    await retiring.send("bond.quotes", quote_value("q-x", "X", "2052-12-01T09:30:00+08:00"))
    assert retiring.stale() == [] and sorted(retiring.store.maturing) == []  # A, B, C retired in 2052


async def test_skew_is_configurable() -> None:
    run = Run(RulesConfig.model_validate({"future_timestamp": {"max_ahead_minutes": 120}}))
    await run.send("bond.quotes", quote_value("q-1", "A", (RECORDED + dt.timedelta(minutes=119)).isoformat()))
    await run.send("bond.quotes", quote_value("q-2", "A", (RECORDED + dt.timedelta(minutes=121)).isoformat()))
    assert run.kinds() == ["future_timestamp"]


@pytest.mark.parametrize(
    ("ts", "kind"),
    [
        ("2025-06-27T15:00:00+08:00", None),  # Friday, settles that day, before the Monday maturity
        ("2025-06-28T10:00:00+08:00", "after_maturity"),  # Saturday: settles Monday 30 June, the maturity
        ("2025-06-30T09:30:00+08:00", "after_maturity"),  # on the maturity date
        ("2025-06-29T17:00:00+00:00", "after_maturity"),  # 01:00 on 30 June in China
    ],
)
async def test_after_maturity_edges(ts: str, kind: str | None) -> None:
    run = Run()
    await run.send("abs.deals", deal_value(maturity="2025-06-30"))
    await run.send("bond.quotes", quote_value("q-0", "B", "2025-06-02T09:30:00+08:00"))
    await run.send("bond.quotes", quote_value("q-1", "A", ts, 90.0))
    assert run.kinds() == ([kind] if kind else [])
    if kind:
        assert run.store.event_clock == dt.datetime(2025, 6, 2, 9, 30, tzinfo=CHINA)  # not moved
        assert "on or after the tranche's maturity date 2025-06-30" in run.reasons()[0]
        assert not [a for a in run.store.outbox if a.rule == "below_par"]


SHORT = deal("d-1", "WHBUS-2025", "2025-01-10", [terms("A", maturity_date="2025-06-30"), terms("B")])


def test_quotes_read_before_the_terms_stop_counting_when_they_settle_after_maturity() -> None:
    """Kept while the terms are unknown, judged when they arrive: the quote after maturity no longer counts,
    and the tranche falls back on its newest quote that does. Same firing set as with the deal read first."""
    valid, after = quote("q-1", "A", "2025-06-02", 99.5), quote("q-2", "A", "2025-07-10", 90.0)
    quote_first = replay([valid, after, SHORT])
    assert (
        severity(quote_first, "below_par", "A") is None and severity(quote_first, "price_drop", "A") is None
    )
    tranche = quote_first.tranches["A"]
    assert tranche.last_quote is not None and tranche.last_quote.event_id == "q-1"
    assert [m.event_id for m in tranche.recent] == ["q-1"] and "below_par" in tranche.latches
    assert tranche.latches["below_par"].severity is None
    deal_first = replay([SHORT, valid])
    assert firing(quote_first) == firing(deal_first) == set()


def test_every_quote_after_maturity_leaves_the_tranche_unquoted() -> None:
    snap = replay([quote("q-1", "A", "2025-07-01", 90.0), quote("q-2", "A", "2025-07-02", 80.0), SHORT])
    tranche = snap.tranches["A"]
    assert (tranche.last_quote, tranche.previous_quote, tranche.recent, tranche.latches) == (
        None,
        None,
        [],
        {},
    )
    assert not all_alerts(snap) and snap.watching == []


def test_a_quote_refused_after_maturity_changes_no_state() -> None:
    snap = replay([SHORT, quote("q-1", "A", "2025-06-02", 99.5), quote("q-2", "A", "2025-07-10", 90.0)])
    assert snap.tranches["A"].last_quote is not None and snap.tranches["A"].last_quote.event_id == "q-1"
    assert snap.clock == dt.datetime(2025, 6, 2, 9, 30, tzinfo=CHINA)
    assert ("bond.quotes", "q-2") not in snap.seen


def test_the_check_can_be_switched_off() -> None:
    rules = RulesConfig.model_validate({"after_maturity": {"enabled": False}})
    snap = replay([SHORT, quote("q-2", "A", "2025-07-10", 90.0)], rules)
    assert snap.tranches["A"].last_quote is not None


def test_the_quick_guard_agrees_with_the_settlement_date() -> None:
    """Every China date around a maturity after the Spring Festival closure, at the day's two ends."""
    short = terms("A", maturity_date="2025-02-05")  # 28 Jan to 4 Feb 2025 closed
    for offset in range(-40, 3):
        day = dt.date(2025, 2, 5) + dt.timedelta(days=offset)
        for hour in (0, 23):
            stamp = dt.datetime.combine(day, dt.time(hour, 59), CHINA)
            assert settles_after_maturity(short, stamp) == (settlement_date(stamp) >= short.maturity_date)
