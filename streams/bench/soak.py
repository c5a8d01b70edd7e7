"""`tranchewatch bench --only soak`: does the state stay bounded over a long stream?

The worker's own BatchHandler and RedisStore, in this process, on the local Redis under a key prefix of the
run's own (deleted afterwards), fed the bench's market (streams/bench/data.py) in batches of 1,000 with
Kafka offsets, as the agents do, over `--soak-days` of event time. Redis memory (MEMORY USAGE by key kind) is
read after a warm-up (half the quotes: every window, including the 7 days of event ids kept for duplicate
detection, is full by then) and at the end; the growth between them per event is what a stream of years
would add. The outbox is left out (in a worker the sender drains and trims it). RSS of this process is
sampled as it goes. No Kafka, no faust: what grows with events lives in Redis and the handler, not there.

With `--soak-life-days N` the market rolls instead (streams/bench/rolling.py): `--tranches` are outstanding
at any time, each lives N days, and a new deal replaces each one that matures, so tranches mature and retire
(TRANCHEWATCH_RETIRE_AFTER_DAYS after maturity, streams/engine/retire.py) all the time. The report then adds
the tranches issued, outstanding and retired at both samples, and Redis bytes per tranche ever issued: flat
when what a retired tranche leaves behind (its tombstone, its alerts' last notices) is small and constant.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
import uuid
from dataclasses import dataclass, field

import redis
from redis.asyncio import Redis

from streams.bench.data import generate
from streams.bench.redis_stats import delete_prefix, memory_by_kind
from streams.bench.rolling import rolling_market
from streams.engine.pipeline import DEFAULT_RETENTION, BatchHandler
from streams.ingest.deadletter import Envelope, KeptDeadLetters
from streams.kafka.topics import QUOTES
from streams.metrics import Metrics
from streams.model.retirement import DEFAULT_GRACE
from streams.rules.registry import RulesConfig
from streams.state.keys import StateKeys
from streams.state.store import RedisStore

BATCH = 1_000
SAMPLES = 10
UNDRAINED = ("outbox",)  # drained by the sender in a worker, not state


@dataclass
class SoakReport:
    quotes: int
    tranches: int
    days: float
    seconds: float = 0.0
    warm: dict[str, int] = field(default_factory=dict)  # bytes by key kind after the warm-up
    end: dict[str, int] = field(default_factory=dict)
    rss_mb: list[tuple[int, float]] = field(default_factory=list)  # (quotes handled, MB)
    ids_kept: int = 0
    life_days: int = 0  # > 0: the rolling market
    retire_after: dt.timedelta | None = DEFAULT_GRACE
    events: int = 0  # every record fed (the rolling market's deals too)
    # The rolling market's tranches at the warm-up and at the end: documents (each tranche ever announced),
    # outstanding (filed by maturity, not retired yet), retired (tombstones) and the tombstones' bytes.
    census: dict[str, dict[str, int]] = field(default_factory=dict)

    def state_bytes(self, sizes: dict[str, int]) -> int:
        return sum(v for k, v in sizes.items() if k not in UNDRAINED)

    def render(self) -> str:
        if self.life_days:
            return self.render_rolling()
        second_half = self.quotes - self.quotes // 2
        growth = self.state_bytes(self.end) - self.state_bytes(self.warm)
        kinds = sorted(set(self.warm) | set(self.end))
        lines = [
            f"soak: {self.quotes:,} quotes over {self.tranches:,} tranches, {self.days:g} days of event time, "
            f"{self.seconds:.0f} s",
            f"  Redis B per tranche (end, outbox left out): {self.state_bytes(self.end) / self.tranches:,.0f}",
            f"  Redis B per event after warm-up (second half): {growth / max(second_half, 1):,.1f}",
            f"  event ids kept for duplicates (bond.quotes): {self.ids_kept:,}",
            "  Redis bytes by kind (warm-up -> end): "
            + ", ".join(f"{k} {self.warm.get(k, 0):,} -> {self.end.get(k, 0):,}" for k in kinds),
            "  RSS MB over time (quotes handled: MB): "
            + ", ".join(f"{n:,}: {mb:.0f}" for n, mb in self.rss_mb),
        ]
        return "\n".join(lines)

    def render_rolling(self) -> str:
        second_half = self.events - self.events // 2
        warm, end = self.census.get("warm", {}), self.census.get("end", {})
        state_warm, state_end = self.state_bytes(self.warm), self.state_bytes(self.end)
        retired = end.get("retired", 0) - warm.get("retired", 0)
        grace = f"{self.retire_after / dt.timedelta(days=1):g} days" if self.retire_after else "never"
        kinds = sorted(set(self.warm) | set(self.end))

        def per(total: int, n: int) -> str:
            return f"{total / n:,.0f}" if n else "-"

        lines = [
            f"soak (rolling): {self.quotes:,} quotes, {self.tranches:,} tranches outstanding, each living "
            f"{self.life_days} days, {self.days:g} days of event time, retired {grace} after maturity, "
            f"{self.seconds:.0f} s",
            "  tranches (warm-up -> end): announced "
            f"{warm.get('documents', 0):,} -> {end.get('documents', 0):,}, outstanding "
            f"{warm.get('outstanding', 0):,} -> {end.get('outstanding', 0):,}, retired "
            f"{warm.get('retired', 0):,} -> {end.get('retired', 0):,}",
            f"  Redis B per tranche announced (outbox left out): {per(state_warm, warm.get('documents', 0))} -> "
            f"{per(state_end, end.get('documents', 0))}",
            f"  Redis B per event after warm-up (second half): {(state_end - state_warm) / max(second_half, 1):,.1f}",
            f"  Redis B left per tranche retired in the second half: {per(state_end - state_warm, retired)}"
            f" (tombstone alone: {per(end.get('tombstone_bytes', 0), end.get('retired', 0))})",
            f"  event ids kept for duplicates (bond.quotes): {self.ids_kept:,}",
            "  Redis bytes by kind (warm-up -> end): "
            + ", ".join(f"{k} {self.warm.get(k, 0):,} -> {self.end.get(k, 0):,}" for k in kinds),
            "  RSS MB over time (events handled: MB): "
            + ", ".join(f"{n:,}: {mb:.0f}" for n, mb in self.rss_mb),
        ]
        return "\n".join(lines)


def census(client: redis.Redis, prefix: str) -> dict[str, int]:
    """The rolling market's tranche documents: how many, how many outstanding, retired, and the tombstones'
    bytes."""
    keys = StateKeys(prefix)
    names = list(client.scan_iter(match=keys.doc_pattern("tranche"), count=1000))
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hget(name, "d")
        pipe.memory_usage(name, samples=0)
    found = pipe.execute()
    tombstones = [
        size for doc, size in zip(found[::2], found[1::2], strict=True) if doc and b'"retired":{' in doc
    ]
    return {
        "documents": len(names),
        "outstanding": int(client.zcard(keys.maturing)),
        "retired": len(tombstones),
        "tombstone_bytes": sum(int(size or 0) for size in tombstones),
    }


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker_handler(
    client: Redis, prefix: str, retire_after: dt.timedelta | None = DEFAULT_GRACE
) -> BatchHandler:
    """The worker's BatchHandler on RedisStore, default rules, event ids kept for the default retention,
    matured tranches retired after `retire_after`."""
    return BatchHandler(
        RedisStore(client, prefix),
        RulesConfig(),
        KeptDeadLetters(),
        Metrics(),
        dedup_retention=DEFAULT_RETENTION,
        retire_after=retire_after,
    )


async def feed_batch(
    handler: BatchHandler, records: list[tuple[str, bytes, bytes]], offsets: dict[str, int]
) -> None:
    """One batch as an agent hands it over: envelopes with each topic's next offsets on partition 0."""
    batch = []
    for topic, key, value in records:
        offset = offsets.get(topic, 0)
        offsets[topic] = offset + 1
        batch.append(Envelope(topic, 0, offset, key, value, time.monotonic()))
    await handler.handle(batch)


def run_soak(
    quotes: int,
    tranches: int,
    days: float,
    redis_url: str,
    *,
    life_days: int = 0,
    retire_after: dt.timedelta | None = DEFAULT_GRACE,
) -> SoakReport:
    """`life_days` > 0: the rolling market (tranches maturing and retiring all the time), else the bench's."""
    report = SoakReport(quotes, tranches, days, life_days=life_days, retire_after=retire_after)
    if life_days:
        reference, stream = [], rolling_market(quotes, tranches, days, life_days)
        report.quotes = sum(1 for topic, _, _ in stream if topic == QUOTES)  # fewer near maturities
    else:
        rounds = max(1, -(-quotes // tranches))
        data = generate(quotes, tranches, round_step=dt.timedelta(days=days) / rounds)
        reference, stream = data.reference, data.quotes
    prefix = f"twsoak:{uuid.uuid4().hex[:8]}:"
    sync = redis.Redis.from_url(redis_url)
    started = time.monotonic()
    try:
        asyncio.run(_feed(reference, stream, prefix, redis_url, sync, report))
        report.end = memory_by_kind(sync, prefix)
        if life_days:
            report.census["end"] = census(sync, prefix)
        report.ids_kept = int(sync.zcard(StateKeys(prefix).ids(QUOTES)))
    finally:
        delete_prefix(sync, prefix)
        sync.close()
    report.seconds = time.monotonic() - started
    return report


async def _feed(
    reference: list[tuple[str, bytes, bytes]],
    quotes: list[tuple[str, bytes, bytes]],
    prefix: str,
    redis_url: str,
    sync: redis.Redis,
    report: SoakReport,
) -> None:
    client = Redis.from_url(redis_url)
    handler = worker_handler(client, prefix, report.retire_after)
    offsets: dict[str, int] = {}

    async def feed(records: list[tuple[str, bytes, bytes]]) -> None:
        await feed_batch(handler, records, offsets)

    report.events = len(quotes)
    try:
        for at in range(0, len(reference), BATCH):
            await feed(reference[at : at + BATCH])
        step = max(BATCH, len(quotes) // SAMPLES // BATCH * BATCH)
        for at in range(0, len(quotes), BATCH):
            await feed(quotes[at : at + BATCH])
            done = at + BATCH
            if done >= len(quotes) // 2 and not report.warm:
                report.warm = memory_by_kind(sync, prefix)
                if report.life_days:
                    report.census["warm"] = census(sync, prefix)
            if done % step == 0 or done >= len(quotes):
                report.rss_mb.append((min(done, len(quotes)), rss_mb()))
    finally:
        await client.aclose()
