"""`tranchewatch bench`: every contender on the same generated data, in one run, on one machine.

1. raw: aiokafka consume + JSON decode, no processing (the client's limit on this broker);
2. faust-default: an empty agent, faust's default consumer settings, one event at a time;
3. faust-tuned: an empty agent with the worker's settings and batching;
4. naive: a faust agent, one event at a time, one Redis call per read and write, every rule on;
5. worker: tranchewatch's app, every rule on, the notice sender running;
6. two workers on the four partitions of bond.quotes;
7. publish-to-alert latency of `tranchewatch worker` at a fixed rate, at half the rate the worker sustained in
   (5), and at saturation.
The raw and empty contenders read one preloaded broker (each with a consumer group of its own); the
stateful ones (4-6) and the latency runs get a broker each, and their deals and financials before the quotes. Then the naive baseline's, the worker's and the two workers' alert
sets are compared.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from streams.bench.data import Dataset, generate
from streams.bench.kafka import RawResult, preload, raw_consume
from streams.bench.latency import Latency, latency_run
from streams.bench.procs import Process, Throughput, run_contenders, wait_until
from streams.bench.redis_stats import AlertKey, alert_set, delete_prefix, memory_by_kind, seen_count
from streams.kafka.broker import EmbeddedBroker, free_port
from streams.kafka.topics import DEALS, FINANCIALS, ensure_topics
from streams.settings import Settings


@dataclass
class Options:
    quotes: int = 200_000
    tranches: int = 2_000
    rate: float = 5_000.0
    latency_quotes: int = 50_000
    redis_url: str = "redis://127.0.0.1:6379/0"
    rebalance_timeout: float = 2.0
    workdir: Path | None = None
    seed: int = 7
    extra_env: dict[str, str] = field(default_factory=dict)
    # "throughput": raw, faust-default and faust-tuned only (a minute instead of the whole run).
    only: str | None = None
    # Codec of every batch the bench publishes (streams/kafka/codecs.py); None: uncompressed.
    compression: str | None = None
    # Partitions of bond.quotes on the bench's brokers (the worker's default is 4; `--only scale` uses 8).
    quotes_partitions: int = 4


@dataclass
class Report:
    options: Options
    events: dict[str, int]
    publish_rate: float
    raw: RawResult | None = None
    throughput: dict[str, Throughput] = field(default_factory=dict)
    latency: dict[str, Latency] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)
    alerts_match: bool = False
    mismatch: list[str] = field(default_factory=list)


class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.run_id = uuid.uuid4().hex[:8]
        self.workdir = options.workdir or Path(tempfile.mkdtemp(prefix="tranchewatch-bench-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.redis = redis.Redis.from_url(options.redis_url)
        self.prefixes: list[str] = []
        self.timeout = 600.0

    def env(self, name: str, bootstrap: str, app_id: str | None = None) -> dict[str, str]:
        prefix = f"twbench:{self.run_id}:{name}:"
        if prefix not in self.prefixes:
            self.prefixes.append(prefix)
        return {
            "TRANCHEWATCH_KAFKA_BOOTSTRAP": bootstrap,
            "TRANCHEWATCH_REDIS_URL": self.options.redis_url,
            "TRANCHEWATCH_REDIS_PREFIX": prefix,
            "TRANCHEWATCH_APP_ID": app_id or f"twbench-{self.run_id}-{name}",
            "TRANCHEWATCH_HTTP_PORT": str(free_port()),
            "TRANCHEWATCH_REBALANCE_TIMEOUT_SECONDS": str(self.options.rebalance_timeout),
            "TRANCHEWATCH_SESSION_TIMEOUT_SECONDS": "6",
            "TRANCHEWATCH_LOG_LEVEL": "WARNING",
            # Every id kept, so that progress is the ids stored and the figures compare with earlier runs
            # (`--only soak` measures the default retention).
            "TRANCHEWATCH_DEDUP_RETENTION_DAYS": "36500",
            "TRANCHEWATCH_QUOTES_PARTITIONS": str(self.options.quotes_partitions),
            **self.options.extra_env,
        }

    def throughput(self, report: Report, data: Dataset) -> None:
        """Raw and empty contenders read one broker preloaded with everything."""
        broker = EmbeddedBroker(log_file=self.workdir / "broker.log")
        with broker.running():
            boot = broker.bootstrap
            ensure_topics(self.topic_settings(boot))
            report.publish_rate = asyncio.run(
                preload(boot, data.reference + data.quotes, self.options.compression)
            )
            report.raw = asyncio.run(raw_consume(boot, data.total))
            for name, mode in (("faust-default", "empty"), ("faust-tuned", "empty-tuned")):
                envs = [self.env(name, boot)]
                report.throughput[name] = run_contenders(
                    mode, envs, data.total, self.workdir, name, self.timeout
                )

    def topic_settings(self, bootstrap: str) -> Settings:
        return Settings(kafka_bootstrap=bootstrap, quotes_partitions=self.options.quotes_partitions)

    def stateful(
        self,
        report: Report,
        data: Dataset,
        name: str,
        mode: str,
        processes: int,
        before_quotes: Callable[[], None] | None = None,
    ) -> None:
        """A broker of its own: deals and financials first, the contenders started and done with them, then
        the quotes published as fast as the client can (tens of thousands a second, far above what a
        stateful contender handles), and the rate measured on the quotes. Reading the reference data first
        is what makes the alert sets comparable: faust does not promise an order between topics.
        `before_quotes` runs once the reference data is read, just before the quotes go out (the scale
        bench resets Redis's counters there)."""
        broker = EmbeddedBroker(log_file=self.workdir / f"{name}-broker.log")
        with broker.running():
            boot = broker.bootstrap
            ensure_topics(self.topic_settings(boot))
            asyncio.run(preload(boot, data.reference, self.options.compression))
            app_id = f"twbench-{self.run_id}-{name}"
            envs = [self.env(name, boot, app_id) for _ in range(processes)]
            prefix, counts = self.prefix_of(name), data.counts()

            def reference_read() -> bool:
                return all(seen_count(self.redis, prefix, t) >= counts[t] for t in (DEALS, FINANCIALS))

            def publish_quotes(procs: list[Process]) -> None:
                wait_until(reference_read, f"{name}: deals and financials handled", self.timeout, procs)
                if before_quotes is not None:
                    before_quotes()
                asyncio.run(preload(boot, data.quotes, self.options.compression))

            report.throughput[name] = run_contenders(
                mode, envs, data.total, self.workdir, name, self.timeout, publish_quotes
            )

    def compare(self, report: Report) -> None:
        sets: dict[str, set[AlertKey]] = {
            name: alert_set(self.redis, self.prefix_of(name)) for name in ("naive", "worker", "two-workers")
        }
        report.alerts = {name: len(s) for name, s in sets.items()}
        base = sets["naive"]
        for name in ("worker", "two-workers"):
            for extra in sorted(sets[name] - base)[:5]:
                report.mismatch.append(f"{name} only: {extra}")
            for missing in sorted(base - sets[name])[:5]:
                report.mismatch.append(f"naive only (not {name}): {missing}")
        report.alerts_match = not report.mismatch and bool(base)

    def prefix_of(self, name: str) -> str:
        return f"twbench:{self.run_id}:{name}:"

    def run(self) -> Report:
        o = self.options
        data = generate(o.quotes, o.tranches, o.seed)
        report = Report(o, data.counts(), 0.0)
        try:
            self.timeout = 300 + data.total / 20  # the naive baseline can run at a few dozen events/s
            self.throughput(report, data)
            if o.only == "throughput":
                return report
            for name, mode, processes in (
                ("naive", "naive", 1),
                ("worker", "worker", 1),
                ("two-workers", "worker", 2),
            ):
                self.stateful(report, data, name, mode, processes)
            report.memory = memory_by_kind(self.redis, self.prefix_of("worker"))
            self.compare(report)
            paced = generate(min(o.latency_quotes, o.quotes), o.tranches, o.seed)
            # Also at half the rate the worker sustained above: its latency when it is not saturated.
            half = report.throughput["worker"].rate / 2
            for name, rate in (("fixed", o.rate), ("half-capacity", half), ("saturation", None)):
                env = self.env(f"latency-{name}", "")
                report.latency[name] = latency_run(
                    paced, rate, env, self.workdir, f"latency-{name}", self.options.compression
                )
        finally:
            for prefix in self.prefixes:
                delete_prefix(self.redis, prefix)
            self.redis.close()
        return report


def run_bench(options: Options) -> Report:
    return Bench(options).run()
