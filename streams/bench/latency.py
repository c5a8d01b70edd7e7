"""Publish-to-alert latency of the real `tranchewatch worker`: deals and financials first, then the quotes at a
fixed rate (or as fast as the client can), each alert on `abs.alerts` matched to the quote that caused it.

The quote is found from the alert's subject and event time (a tranche's judgement is stamped with its newest
quote's time, unique per tranche in the bench data); alerts caused by deals or reports are not counted."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import redis

from streams.bench.data import Dataset
from streams.bench.kafka import AlertReader, preload, publish_paced
from streams.bench.procs import Process, wait_until
from streams.bench.redis_stats import alert_set, seen_count
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import DEALS, FINANCIALS, QUOTES, ensure_topics
from streams.settings import Settings


@dataclass
class Latency:
    offered: float | None  # quotes per second asked for; None: as fast as the client could
    published: float  # quotes per second actually handed to the client
    samples: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    peak_rss_mb: float


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _wait(probe: Callable[[], bool], what: str, timeout: float, worker: Process) -> None:
    wait_until(probe, what, timeout, [worker])


def _quote_times(data: Dataset, sent: list[float]) -> dict[tuple[str, float], float]:
    out = {}
    for (_, _, value), when in zip(data.quotes, sent, strict=True):
        quote = orjson.loads(value)
        out[(quote["tranche_id"], dt.datetime.fromisoformat(quote["ts"]).timestamp())] = when
    return out


def _latencies(
    received: list[tuple[float, dict[str, object]]], sent: dict[tuple[str, float], float]
) -> list[float]:
    out = []
    for arrived, alert in received:
        subject = alert["subject"]
        tranche = subject.get("tranche_id") if isinstance(subject, dict) else None
        when = dt.datetime.fromisoformat(str(alert["event_time"])).timestamp()
        published = sent.get((str(tranche), when)) if tranche else None
        if published is not None:
            out.append(arrived - published)
    return out


async def _measure(
    bootstrap: str,
    data: Dataset,
    rate: float | None,
    client: redis.Redis,
    prefix: str,
    worker: Process,
    compression: str | None,
) -> tuple[list[float], float, int]:
    async with AlertReader(bootstrap) as reader:
        started = time.monotonic()
        sent = await publish_paced(bootstrap, data.quotes, rate, compression)
        published = len(sent) / max(time.monotonic() - started, 1e-9)

        def drained() -> bool:
            if seen_count(client, prefix, QUOTES) < len(data.quotes):
                return False
            return len(reader.received) >= len(alert_set(client, prefix))

        await asyncio.to_thread(
            _wait, drained, "every quote handled and its alerts on abs.alerts", 600, worker
        )
    times = _latencies(reader.received, _quote_times(data, sent))
    return times, published, len(reader.received)


def latency_run(
    data: Dataset,
    rate: float | None,
    env: dict[str, str],
    workdir: Path,
    name: str,
    compression: str | None = None,
) -> Latency:
    broker = EmbeddedBroker(log_file=workdir / f"{name}-broker.log")
    client = redis.Redis.from_url(env["TRANCHEWATCH_REDIS_URL"])
    with broker.running():
        env = {**env, "TRANCHEWATCH_KAFKA_BOOTSTRAP": broker.bootstrap}
        ensure_topics(Settings(kafka_bootstrap=broker.bootstrap))
        asyncio.run(preload(broker.bootstrap, data.reference, compression))
        worker = Process(["streams.cli", "worker"], env, workdir / f"{name}-worker.log")
        prefix = env["TRANCHEWATCH_REDIS_PREFIX"]
        try:
            counts = data.counts()
            _wait(
                lambda: all(seen_count(client, prefix, t) >= counts[t] for t in (DEALS, FINANCIALS)),
                "deals and financials handled",
                120,
                worker,
            )
            times, published, _ = asyncio.run(
                _measure(broker.bootstrap, data, rate, client, prefix, worker, compression)
            )
            rss = worker.peak_rss_mb()
        finally:
            worker.stop()
            client.close()
    ms = [t * 1000 for t in times]
    return Latency(
        rate, published, len(ms), percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 0.999), rss
    )
