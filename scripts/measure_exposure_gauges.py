"""What one refresh of the exposure gauges costs on a market of N tranches (BENCHMARKS.md, Exposure gauges).

    .venv/bin/python scripts/measure_exposure_gauges.py [--tranches 15000] [--redis-url URL]

Loads the bench market (streams/bench/data.py: 4 tranches a deal, 2 deals an issuer, two quotes a tranche),
its issuers spread over 31 provinces and 7 asset types, through the worker's BatchHandler into Redis under a
prefix of its own (deleted at the end: never a flush), then times three refreshes as the worker runs them
(documents read on the event loop, parsed and summed in a thread) against the same work all on the loop (as
GET /api/v1/exposures does), with a 10 ms heartbeat on the loop to find its longest stall.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable

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


async def measure(url: str, tranches: int) -> None:
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
        settings = Settings(redis_url=url, redis_prefix=prefix)
        metrics = Metrics()

        async def on_the_loop() -> None:
            view = await reader.view()
            for group_by in ("province", "asset_type"):
                bounded(exposures(view, group_by), settings.exposure_metrics_top)

        for _ in range(3):
            took, stall = await _stall(lambda: refresh_exposure_gauges(redis, settings, metrics))
            took_loop, stall_loop = await _stall(on_the_loop)
            print(
                f"refresh: {took:.2f} s, longest loop stall {stall * 1000:.0f} ms; "
                f"all on the loop: {took_loop:.2f} s, longest stall {stall_loop * 1000:.0f} ms"
            )
        series = sum(
            len(m.samples) for m in metrics.registry.collect() if m.name.startswith("tranchewatch_exposure")
        )
        print(f"exposure series exported: {series}")
    finally:
        await redis.aclose()
        delete_prefix(sync_redis.Redis.from_url(url), prefix)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tranches", type=int, default=15_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    asyncio.run(measure(args.redis_url, args.tranches))


if __name__ == "__main__":
    main()
