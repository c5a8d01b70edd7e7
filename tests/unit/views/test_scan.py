"""Reads of the whole market (streams/views/scan.py): parsed off the event loop, one at a time, answers kept for
the TTL under their request's key.

"Off the loop" is shown without timing anything: the documents' parse blocks until a ticker task on the
loop has ticked a hundred times. Parsed on the loop, the ticker could never tick and the parse would give up
(after 30 s) unreleased; in a thread it is released as soon as the loop has run.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Awaitable, Callable, Iterator

import pytest

from streams.backtest.replay import BacktestRun, run_backtest
from streams.backtest.sources import read_jsonl
from streams.demo.run import scenario_path
from streams.model.positions import parse_positions
from streams.rules.registry import RulesConfig
from streams.views.scan import MarketScan, ParsedView
from streams.views.state_api import StateApi, deal_detail
from streams.views.watchlist import MarketView
from streams.views.web_pages import WebPages
from tests.unit.views.test_exposures import view as small_view
from tests.unit.views.test_web_pages import ReplaySource

TICKS = 100


class _BlockingDocuments:
    """Documents whose parse waits for the loop to make progress, counting parses running at once."""

    def __init__(self, source: _Blocking) -> None:
        self.source = source

    def parse(self) -> MarketView:
        source = self.source
        with source.lock:
            source.running += 1
            source.most_at_once = max(source.most_at_once, source.running)
        try:
            source.released.append(source.ticked.wait(timeout=30))
            return source.market()
        finally:
            with source.lock:
                source.running -= 1


class _Blocking(ReplaySource):
    def __init__(self, run: BacktestRun) -> None:
        super().__init__(run)
        self.ticked = threading.Event()
        self.released: list[bool] = []
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0

    def market(self) -> MarketView:
        return self.run.view()

    async def raw_view(self) -> _BlockingDocuments:  # type: ignore[override]
        return _BlockingDocuments(self)


@pytest.fixture(scope="module")
def run() -> BacktestRun:
    return run_backtest(read_jsonl(scenario_path()), RulesConfig())


async def _while_ticking(source: _Blocking, request: Awaitable[object]) -> tuple[object, int]:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1
            if ticks >= TICKS:
                source.ticked.set()

    task = asyncio.create_task(ticker())
    try:
        answer = await request
    finally:
        task.cancel()
    return answer, ticks


def _requests(source: _Blocking) -> Iterator[tuple[str, Callable[[], Awaitable[object]]]]:
    api = StateApi(source, RulesConfig().stale_quote)  # type: ignore[arg-type]
    pages = WebPages(source, RulesConfig())
    yield "exposures", lambda: api.exposures({"group_by": "province"})
    yield "watchlist", lambda: api.watchlist({})
    yield "tranches", lambda: api.tranches({})
    yield "page /", lambda: pages.watchlist({})


async def test_every_scanning_endpoint_parses_while_the_loop_keeps_ticking(run: BacktestRun) -> None:
    source = _Blocking(run)
    for name, request in _requests(source):
        source.ticked.clear()
        answer, ticks = await _while_ticking(source, request())
        assert source.released[-1], f"{name}: the parse waited out the ticker, so the loop was blocked"
        assert ticks >= TICKS, name
        assert getattr(answer, "status", None) == 200, name


async def test_an_issuer_or_a_deal_reads_its_own_documents_not_the_market(run: BacktestRun) -> None:
    source = _Blocking(run)
    scan = MarketScan(source)
    api = StateApi(source, RulesConfig().stale_quote, scan=scan)  # type: ignore[arg-type]
    pages = WebPages(source, RulesConfig(), scan=scan)
    deal = await api.deal("WHBUS-2025")
    whole = deal_detail("WHBUS-2025", run.deals()["WHBUS-2025"], run.view(), RulesConfig().stale_quote)
    assert deal.status == 200 and deal.body == whole  # as when it was built from the whole market
    assert (await api.issuer("wuhan-bus")).status == 200
    assert (await pages.deal("WHBUS-2025")).status == 200 and (await pages.issuer("wuhan-bus")).status == 200
    assert scan.scans == 0 and source.released == []


async def test_a_burst_of_requests_runs_one_scan_at_a_time(run: BacktestRun) -> None:
    source = _Blocking(run)
    source.ticked.set()  # never wait: here only how many parses overlap matters
    scan = MarketScan(source, ttl_seconds=0.0)
    pages = WebPages(source, RulesConfig(), scan=scan)
    api = StateApi(source, RulesConfig().stale_quote, scan=scan)  # type: ignore[arg-type]
    answers = await asyncio.gather(
        *(pages.watchlist({"sort": "tranche"}) for _ in range(3)),
        *(api.exposures({"group_by": g}) for g in ("family", "province", "asset_type")),
    )
    assert [getattr(a, "status", None) for a in answers] == [200] * 6
    assert scan.scans == 6  # nothing kept: each read the state, but never two at once
    assert source.most_at_once == 1
    assert gc.isenabled()  # paused during each parse only


async def test_the_same_request_within_the_ttl_takes_the_kept_answer(run: BacktestRun) -> None:
    source = _Blocking(run)
    source.ticked.set()
    clock = [0.0]
    scan = MarketScan(source, ttl_seconds=3.0, now=lambda: clock[0])
    pages = WebPages(source, RulesConfig(), scan=scan)
    burst = await asyncio.gather(*(pages.watchlist({}) for _ in range(5)))
    assert scan.scans == 1 and len({p.html for p in burst}) == 1  # the four waiting took the first's page
    await pages.watchlist({"sort": "tranche"})  # another request: its own read
    assert scan.scans == 2
    clock[0] = 2.9
    await pages.watchlist({})
    assert scan.scans == 2
    clock[0] = 6.0  # past the TTL: read afresh
    await pages.watchlist({})
    assert scan.scans == 3


def test_reloaded_positions_are_never_answered_from_the_kept_one() -> None:
    built = small_view()
    current = [parse_positions("portfolio,tranche_id,holding_face\nfund-a,T-1,1000\n")]

    class Source:
        async def raw_view(self) -> ParsedView:
            return ParsedView(built)

    scan = MarketScan(Source(), lambda: current[0], ttl_seconds=60.0)
    api = StateApi(Source(), RulesConfig().stale_quote, lambda: current[0], scan)  # type: ignore[arg-type]

    async def portfolios() -> list[str]:
        return [r.key for r in (await api.exposures({"group_by": "portfolio"})).body.rows]

    assert asyncio.run(portfolios()) == ["fund-a"]
    current[0] = parse_positions("portfolio,tranche_id,holding_face\nfund-b,T-1,1000\n")  # a SIGHUP reload
    assert asyncio.run(portfolios()) == ["fund-b"]
    assert scan.scans == 2
