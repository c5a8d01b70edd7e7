"""What one refresh of the exposure gauges costs on a market of N tranches (BENCHMARKS.md, Exposure gauges),
and what the read endpoints that scan every document cost the event loop (Read endpoints off the loop).

    .venv/bin/python scripts/measure_exposure_gauges.py [--tranches 15000] [--redis-url URL]
        [--only gauges|endpoints] [--no-baseline]

Loads the bench market (streams/bench/data.py: 4 tranches a deal, 2 deals an issuer, two quotes a tranche),
its issuers spread over 31 provinces and 7 asset types, through the worker's BatchHandler into Redis under a
prefix of its own (deleted at the end: never a flush), then times three refreshes as the worker runs them
(documents read on the event loop, parsed and summed in a thread) against the same work all on the loop (as
GET /api/v1/exposures did), with a 10 ms heartbeat on the loop to find its longest stall. Then the same for
GET /api/v1/exposures, GET /api/v1/watchlist and the web page GET / as they run now (through the MarketScan:
read on the loop, parsed, computed and rendered in a thread) against their old path (all on the loop), an
issuer page and a deal's endpoint (their own documents, no scan), and a burst of five page loads at once (one
scan, the rest wait and take its answer).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis as sync_redis
from redis.asyncio import Redis

from streams.backtest.replay import HeldDeadLetters
from streams.bench.data import generate
from streams.bench.redis_stats import delete_prefix
from streams.engine.pipeline import BatchHandler
from streams.ingest.deadletter import Envelope
from streams.metrics import Metrics
from streams.rules.registry import RulesConfig
from streams.settings import Settings
from streams.state.reader import StateReader
from streams.state.store import RedisStore
from streams.views.exposures import bounded, exposures
from streams.views.scan import MarketScan
from streams.views.state_api import StateApi
from streams.views.watchlist import WatchQuery, watchlist
from streams.views.web_pages import WebPages
from streams.worker.gauges import refresh_exposure_gauges

PROVINCES = 31
ASSET_TYPES = (
    "transport_revenue",
    "auto_loan",
    "consumer_loan",
    "lease",
    "receivables",
    "cmbs",
    "utility_fee",
)


def _market(tranches: int) -> list[tuple[str, bytes | None, bytes]]:
    data = generate(quotes=tranches * 2, tranches=tranches)
    records: list[tuple[str, bytes | None, bytes]] = []
    for topic, key, value in data.reference + data.quotes:
        doc = json.loads(value)
        if "tranches" in doc:  # a deal: spread the market over provinces and asset types
            issuer = int(doc["issuer_id"].rsplit("-", 1)[1])
            doc["province"] = f"province-{issuer % PROVINCES:02d}"
            doc["asset_type"] = ASSET_TYPES[issuer % len(ASSET_TYPES)]
            value = json.dumps(doc).encode()
        records.append((topic, key, value))
    return records


async def _load(redis: Redis, prefix: str, tranches: int) -> None:
    handler = BatchHandler(RedisStore(redis, prefix), RulesConfig(), HeldDeadLetters(), Metrics())
    records = _market(tranches)
    for at in range(0, len(records), 1000):
        batch = [
            Envelope(topic, 0, at + n, key, value, time.monotonic(), time.time())
            for n, (topic, key, value) in enumerate(records[at : at + 1000])
        ]
        await handler.handle(batch)


async def _stall(step: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """Seconds `step` took, and the event loop's longest stall meanwhile."""
    gaps: list[float] = [0.0]
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last - 0.01)
            last = now

    beat = asyncio.create_task(heartbeat())
    started = time.perf_counter()
    await step()
    took = time.perf_counter() - started
    done.set()
    await beat
    return took, max(gaps)


async def measure(url: str, tranches: int, only: str | None = None, baseline: bool = True) -> None:
    prefix = f"tw-measure-{uuid.uuid4().hex[:8]}:"
    redis = Redis.from_url(url)
    try:
        started = time.perf_counter()
        await _load(redis, prefix, tranches)
        reader = StateReader(redis, prefix)
        raw = await reader.raw_view()
        size = sum(len(d) for docs in (raw.tranches, raw.issuers, raw.deals) for d in docs.values())
        print(
            f"{len(raw.tranches):,} tranches, {len(raw.issuers):,} issuers, {len(raw.deals):,} deals loaded in "
            f"{time.perf_counter() - started:.0f} s; {size / 2**20:.1f} MiB of documents"
        )
        if only != "endpoints":
            await _gauges(url, prefix, reader)
        if only != "gauges":
            await _endpoints(reader, baseline)
    finally:
        await redis.aclose()
        delete_prefix(sync_redis.Redis.from_url(url), prefix)


async def _ok(answer: Awaitable[Any]) -> None:
    status = getattr(await answer, "status", None)
    assert status == 200, status


async def _endpoints(reader: StateReader, baseline: bool = True) -> None:
    rules = RulesConfig()
    query = WatchQuery()

    def fresh() -> tuple[StateApi, WebPages]:  # nothing kept between the timed requests
        scan = MarketScan(reader, ttl_seconds=0.0)
        return StateApi(reader, rules.stale_quote, scan=scan), WebPages(reader, rules, scan=scan)

    async def old_exposures() -> None:
        exposures(await reader.view(), "family")

    async def old_watchlist() -> None:
        watchlist(await reader.view(), rules.stale_quote, query)

    async def old_page() -> None:
        view = await reader.view()
        fresh()[1]._watchlist_page(view, query, await reader.firing_alerts())

    async def new_exposures() -> None:
        assert (await fresh()[0].exposures({})).status == 200

    async def new_watchlist() -> None:
        assert (await fresh()[0].watchlist({})).status == 200

    async def new_page() -> None:
        assert (await fresh()[1].watchlist({})).status == 200

    cases = (
        ("GET /api/v1/exposures", new_exposures, old_exposures),
        ("GET /api/v1/watchlist", new_watchlist, old_watchlist),
        ("GET / (web page)", new_page, old_page),
    )
    for name, new, old in cases:
        took, stall = await _stall(new)
        line = f"{name}: off the loop {took:.2f} s, longest loop stall {stall * 1000:.0f} ms"
        if baseline:
            took_old, stall_old = await _stall(old)
            line += f"; all on the loop: {took_old:.2f} s, longest stall {stall_old * 1000:.0f} ms"
        print(line, flush=True)
    api, page_of = fresh()
    issuer = next(iter((await reader.raw_view()).issuers))
    took, stall = await _stall(lambda: _ok(page_of.issuer(issuer)))
    found = await reader.issuer(issuer)
    deal = found.deal_ids[0] if found and found.deal_ids else ""
    deal_took, deal_stall = await _stall(lambda: _ok(api.deal(deal)))
    print(
        f"issuer page: {took:.2f} s, longest loop stall {stall * 1000:.0f} ms; GET /api/v1/deals/{{id}}: "
        f"{deal_took:.2f} s, longest loop stall {deal_stall * 1000:.0f} ms (no scan: their own documents)",
        flush=True,
    )
    scan = MarketScan(reader, ttl_seconds=3.0)
    pages = WebPages(reader, rules, scan=scan)

    async def burst() -> None:
        answers = await asyncio.gather(*(pages.watchlist({}) for _ in range(5)))
        assert all(a.status == 200 for a in answers)

    took, stall = await _stall(burst)
    print(
        f"5 page loads at once: {took:.2f} s, {scan.scans} scan(s), longest loop stall {stall * 1000:.0f} ms"
    )


async def _gauges(url: str, prefix: str, reader: StateReader) -> None:
    settings = Settings(redis_url=url, redis_prefix=prefix)
    metrics = Metrics()
    scan = MarketScan(reader)

    async def on_the_loop() -> None:
        view = await reader.view()
        for group_by in ("province", "asset_type"):
            bounded(exposures(view, group_by), settings.exposure_metrics_top)

    for _ in range(3):
        took, stall = await _stall(lambda: refresh_exposure_gauges(scan, settings, metrics))
        took_loop, stall_loop = await _stall(on_the_loop)
        print(
            f"refresh: {took:.2f} s, longest loop stall {stall * 1000:.0f} ms; "
            f"all on the loop: {took_loop:.2f} s, longest stall {stall_loop * 1000:.0f} ms"
        )
    series = sum(
        len(m.samples) for m in metrics.registry.collect() if m.name.startswith("tranchewatch_exposure")
    )
    print(f"exposure series exported: {series}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tranches", type=int, default=15_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--only", choices=("gauges", "endpoints"), default=None)
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the old all-on-the-loop path of each endpoint"
    )
    args = parser.parse_args()
    asyncio.run(measure(args.redis_url, args.tranches, args.only, not args.no_baseline))


if __name__ == "__main__":
    main()
