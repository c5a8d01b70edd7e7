"""Matured tranches retire on the event-time clock: alerts resolved once, a tombstone, indexes and price
history forgotten, and nothing brings them back (streams/engine/retire.py), on the in-memory store."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alerts.core.model import Alert
from streams.backtest.replay import run_backtest
from streams.engine.pipeline import BatchHandler
from streams.ingest.deadletter import Envelope, KeptDeadLetters
from streams.metrics import Metrics
from streams.model.retirement import MaturityIndex, due, file, retires_at
from streams.model.state import DealState, IssuerState, TrancheState
from streams.rules.registry import RulesConfig
from streams.state.keys import deal_key, issuer_key, tranche_key
from streams.state.memory_store import MemoryStore
from streams.views.web_pages import Page, WebPages
from tests.unit.views.test_web_pages import ReplaySource

GRACE = dt.timedelta(days=30)
# A matures 2026-03-16: retired at 2026-04-15 00:00 China time. B is outstanding for years.
RETIRES = dt.datetime(2026, 4, 15, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def terms(tranche_id: str, maturity: str) -> dict[str, Any]:
    return {
        "tranche_id": tranche_id,
        "face_value": 5e8,
        "coupon_pct": 3.0,
        "issue_date": "2025-03-16",
        "maturity_date": maturity,
    }


def deal(event_id: str = "d-1", deal_id: str = "D", *tranches: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "deal_id": deal_id,
        "issuer_id": "I",
        "issuer_name": "Issuer",
        "asset_type": "transport_revenue",
        "announced_at": "2025-03-10T10:00:00+08:00",
        "tranches": list(tranches) or [terms("A", "2026-03-16"), terms("B", "2035-03-16")],
    }


def quote(event_id: str, tranche_id: str, ts: dt.datetime | str, price: float = 99.0) -> dict[str, Any]:
    stamp = ts if isinstance(ts, str) else ts.isoformat()
    return {"event_id": event_id, "tranche_id": tranche_id, "ts": stamp, "price": price}


def distribution(event_id: str, tranche_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "tranche_id": tranche_id,
        "payment_date": "2026-03-16",
        "reported_at": "2026-04-20T18:00:00+08:00",
        "interest_due": 1e6,
        "interest_paid": 1e6,
        "principal_due": 5e8,
        "principal_paid": 5e8,
    }


class Run:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self.dead = KeptDeadLetters()
        self.metrics = Metrics(CollectorRegistry())
        self.handler = BatchHandler(
            self.store, RulesConfig(), self.dead, self.metrics, retire_after=GRACE, retry_max_seconds=0.01
        )
        self.offset = 0

    async def feed(self, *records: tuple[str, dict[str, Any]]) -> list[Alert]:
        batch = []
        for topic, value in records:
            batch.append(Envelope(topic, 0, self.offset, None, json.dumps(value).encode(), 0.0))
            self.offset += 1
        return await self.handler.handle(batch)

    def tranche(self, tranche_id: str) -> TrancheState:
        return TrancheState.model_validate_json(self.store.documents[tranche_key(tranche_id)][1])

    def issuer(self) -> IssuerState:
        return IssuerState.model_validate_json(self.store.documents[issuer_key("I")][1])

    def deal(self, deal_id: str = "D") -> DealState:
        return DealState.model_validate_json(self.store.documents[deal_key(deal_id)][1])

    def dead_kinds(self) -> list[str]:
        return [dict(headers)["tw-reason-kind"].decode() for *_, headers in self.dead.records]


async def matured_and_stale(run: Run) -> None:
    """A quoted in 2025, then B alone quoted up to just before A retires: A's stale_quote alert fires."""
    await run.feed(("abs.deals", deal()), ("bond.quotes", quote("q-a", "A", "2025-09-01T09:30:00+08:00")))
    notices = await run.feed(("bond.quotes", quote("q-b1", "B", RETIRES - dt.timedelta(microseconds=1))))
    assert [(n.rule, n.subject.tranche_id, n.status) for n in notices] == [("stale_quote", "A", "firing")]


async def test_the_grace_is_judged_on_the_event_time_clock_to_the_microsecond() -> None:
    run = Run()
    await matured_and_stale(run)
    assert run.tranche("A").retired is None  # a microsecond before maturity + grace
    assert "A" in run.store.maturing
    notices = await run.feed(("bond.quotes", quote("q-b2", "B", RETIRES)))
    assert [(n.rule, n.subject.tranche_id, n.status) for n in notices] == [("stale_quote", "A", "resolved")]
    resolved = notices[0]
    assert resolved.summary == "A retired: matured 2026-03-16"
    assert resolved.ends_at == RETIRES and resolved.event_time == RETIRES
    assert resolved.evidence["retired_at"] == RETIRES.isoformat()
    assert resolved.evidence["grace_days"] == 30
    # Once: later batches say nothing more about A.
    assert await run.feed(("bond.quotes", quote("q-b3", "B", RETIRES + dt.timedelta(days=3)))) == []
    assert [n.status for n in run.store.outbox if n.subject.tranche_id == "A"] == ["firing", "resolved"]


async def test_the_tombstone_and_every_index_forget_the_tranche() -> None:
    run = Run()
    await run.feed(("abs.deals", deal()), ("abs.distributions", distribution("p-0", "A")))
    await run.feed(("bond.quotes", quote("q-a", "A", "2025-09-01T09:30:00+08:00", 97.0)))
    assert run.store.prices["A"] and "A" in run.store.watching and "A" in run.store.maturing
    await run.feed(("bond.quotes", quote("q-b", "B", RETIRES + dt.timedelta(days=1))))

    tomb = run.tranche("A")
    assert tomb.retired is not None
    assert (tomb.retired.maturity_date, tomb.retired.retired_at) == (dt.date(2026, 3, 16), RETIRES)
    assert (tomb.deal_id, tomb.issuer_id) == ("D", "I")
    assert tomb.last_quote is not None and tomb.last_quote.price == 97.0  # the last price, for the API
    assert tomb.terms is None and tomb.reports == {} and tomb.latches == {} and tomb.recent == []
    assert tomb.alerts == {} and tomb.noise == {}
    assert "A" not in run.store.prices
    assert "A" not in run.store.watching and "A" not in run.store.maturing
    assert "A" not in run.issuer().tranche_ids and "B" in run.issuer().tranche_ids
    assert run.deal().retired is None  # B is outstanding
    assert "B" in run.store.maturing and "B" in run.store.watching


async def test_late_events_do_not_resurrect_a_retired_tranche() -> None:
    run = Run()
    await matured_and_stale(run)
    await run.feed(("bond.quotes", quote("q-b2", "B", RETIRES)))
    tomb = run.tranche("A")
    notices = await run.feed(
        ("abs.distributions", distribution("p-late", "A")),
        ("abs.ratings", {"event_id": "r-late", "tranche_id": "A", "agency": "CCXI", "rating": "C",
                         "ts": "2026-04-20T17:00:00+08:00"}),
        ("bond.quotes", quote("q-late", "A", "2026-03-01T09:30:00+08:00")),  # settles before maturity
        ("abs.deals", deal("d-again")),  # the deal announced again: A stays retired, B is updated
    )  # fmt: skip
    assert notices == []
    assert run.dead_kinds() == ["retired", "retired", "after_maturity"]
    assert run.tranche("A") == tomb
    assert "A" not in run.issuer().tranche_ids and "A" not in run.store.maturing
    assert "A" not in run.store.prices


async def test_a_deal_retires_with_its_last_tranche() -> None:
    run = Run()
    only = deal("d-2", "E", terms("E-A", "2026-03-16"))
    servicer = {
        "event_id": "s-1", "deal_id": "E", "period_start": "2025-10-01", "period_end": "2025-12-31",
        "reported_at": "2026-01-20T18:00:00+08:00", "collections": 50e6, "debt_service_due": 100e6,
    }  # fmt: skip
    notices = await run.feed(("abs.deals", only), ("abs.servicer_reports", servicer))
    assert [(n.rule, n.status) for n in notices] == [("coverage_shortfall", "firing")]
    await run.feed(("abs.deals", deal()), ("bond.quotes", quote("q-b", "B", RETIRES)))
    compacted = run.deal("E")
    assert (
        compacted.retired is not None
        and compacted.retired.reason == "retired: last tranche matured 2026-03-16"
    )
    assert compacted.servicer_reports == {} and compacted.alerts == {}
    assert compacted.deal is not None  # its terms kept for the API
    assert run.issuer().deal_ids == ["D"] and run.issuer().tranche_ids == ["B"]
    resolved = [n for n in run.store.outbox if n.rule == "coverage_shortfall" and n.status == "resolved"]
    assert [n.summary for n in resolved] == ["E retired: last tranche matured 2026-03-16"]
    await run.feed(("abs.servicer_reports", {**servicer, "event_id": "s-2"}))
    assert run.dead_kinds() == ["retired"]


async def test_no_grace_set_nothing_retires() -> None:
    run = Run()
    run.handler.retire_after = None
    await run.feed(
        ("abs.deals", deal()), ("bond.quotes", quote("q-b", "B", RETIRES + dt.timedelta(days=400)))
    )
    assert run.tranche("A").retired is None and "A" in run.store.maturing


def test_the_index_takes_out_a_prefix_at_maturity_plus_grace() -> None:
    index = MaturityIndex()
    for tranche_id, maturity in (("Y", "2026-03-17"), ("X", "2026-03-16"), ("Z", "2027-01-01")):
        file(
            index,
            TrancheState.model_validate({"tranche_id": tranche_id, "terms": terms(tranche_id, maturity)}),
        )
    assert due(index, RETIRES - dt.timedelta(microseconds=1), GRACE) == []
    assert due(index, RETIRES + dt.timedelta(days=1), GRACE) == ["X", "Y"]
    assert list(index.filed) == ["Z"]
    assert retires_at(dt.date(2026, 3, 16), GRACE) == RETIRES


@pytest.mark.parametrize("batch_size", [1, 3, 500])
def test_a_backtest_retires_the_same_whatever_the_batch_size(batch_size: int) -> None:
    records: list[tuple[str, Any]] = [
        ("abs.deals", deal()),
        ("bond.quotes", quote("q-a", "A", "2025-09-01T09:30:00+08:00")),
        ("abs.distributions", distribution("p-0", "A")),
        *[("bond.quotes", quote(f"q-b{i}", "B", RETIRES + dt.timedelta(days=i - 10))) for i in range(20)],
        ("abs.distributions", distribution("p-late", "A")),
    ]
    reference = run_backtest(records, RulesConfig(), batch_size=1000, retire_after=GRACE)
    run = run_backtest(records, RulesConfig(), batch_size=batch_size, retire_after=GRACE)
    assert [n.model_dump() for n in run.notices] == [n.model_dump() for n in reference.notices]
    assert run.tranches() == reference.tranches()
    assert run.tranches()["A"].retired is not None
    assert run.counts == reference.counts and run.dead_letters == reference.dead_letters
    assert [kind for kind, _ in run.dead_letters] == ["abs.distributions"]


def test_the_web_pages_serve_a_tombstone_and_its_deal() -> None:
    records: list[tuple[str, Any]] = [
        ("abs.deals", deal()),
        ("bond.quotes", quote("q-a", "A", "2025-09-01T09:30:00+08:00", 97.0)),
        ("bond.quotes", quote("q-b", "B", RETIRES)),
    ]
    run = run_backtest(records, RulesConfig(), retire_after=GRACE)
    pages = WebPages(ReplaySource(run), RulesConfig())

    async def render() -> tuple[Page, Page, Page]:
        return await pages.tranche("A"), await pages.deal("D"), await pages.watchlist({})

    tomb, deal_page, watchlist = asyncio.run(render())
    assert tomb.status == 200 and "97" in tomb.html
    assert deal_page.status == 200
    assert watchlist.status == 200 and 'href="/tranche/B"' in watchlist.html
    assert 'href="/tranche/A"' not in watchlist.html  # outstanding tranches only
