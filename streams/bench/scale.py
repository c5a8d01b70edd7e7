"""`tranchewatch bench --only scale`: 1, 2 and 4 workers on one 8-partition quote topic.

Each run gets a broker and a redis-server of its own (free loopback ports, nothing on disk), so Redis's
counters hold only that run's work: the shared Redis of a machine serves other clients, whose commands and CPU
would be counted too. The workers read the deals and financials first, then the quotes are published as fast
as the client can; the bench reports, for the quotes:
- events per second (first quote seen to last handled, over all workers) and per worker;
- Redis commands per event (`total_commands_processed`);
- Redis main-thread CPU per event (`used_cpu_{sys,user}_main_thread`), and from it the events per second at
  which one primary's main thread would be busy all the time: the projected ceiling of one primary;
- the same quotes fed to the worker's handler in this process in full batches of 1,000, as a saturated worker
  commits them: Redis's commands and CPU per event then, which set the ceiling of one primary;
- whether every run decided the alerts that handler decided (the set of committed notices).
Every figure comes from the same run on the same machine; none is asserted.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.asyncio import Redis as AsyncRedis

from streams.bench.data import Dataset, generate
from streams.bench.procs import BenchError, Throughput
from streams.bench.redis_stats import AlertKey, alert_set
from streams.bench.report import machine
from streams.bench.run import Bench, Options, Report
from streams.bench.soak import BATCH, feed_batch, worker_handler
from streams.kafka.broker import free_port

FULL_PREFIX = "twscale:"


@dataclass
class RedisCounters:
    commands: int  # every command Redis ran, those the Lua scripts call included
    scripts: int  # EVALSHA and EVAL calls: the loads and commits, one round trip each
    cpu_seconds: float  # main thread, system + user

    @classmethod
    def read(cls, client: redis.Redis) -> RedisCounters:
        stats, cpu, calls = client.info("stats"), client.info("cpu"), client.info("commandstats")
        main = float(cpu["used_cpu_sys_main_thread"]) + float(cpu["used_cpu_user_main_thread"])
        scripts = sum(int(calls.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("evalsha", "eval"))
        return cls(int(stats["total_commands_processed"]), scripts, main)

    def __sub__(self, other: RedisCounters) -> RedisCounters:
        return RedisCounters(
            self.commands - other.commands, self.scripts - other.scripts, self.cpu_seconds - other.cpu_seconds
        )

    def per_event(self, events: int) -> tuple[float, float, float]:
        """Commands, scripts and main-thread µs per event."""
        n = max(events, 1)
        return self.commands / n, self.scripts / n, self.cpu_seconds / n * 1e6


@dataclass
class ScaleRun:
    workers: int
    throughput: Throughput
    redis: RedisCounters  # during the quotes
    alerts: set[AlertKey]

    @property
    def redis_busy(self) -> float:
        """Share of the run's wall time Redis's main thread spent working."""
        return self.redis.cpu_seconds / max(self.throughput.seconds, 1e-9)


@dataclass
class FullBatches:
    """The worker's handler fed batches of `BATCH` in this process: what Redis does per event when every
    batch is full, as it is for a saturated worker; the figure that sets one primary's ceiling."""

    events: int
    redis: RedisCounters
    alerts: set[AlertKey]


@dataclass
class ScaleReport:
    quotes: int
    tranches: int
    partitions: int
    runs: list[ScaleRun] = field(default_factory=list)
    full: FullBatches | None = None

    @property
    def same_alerts(self) -> bool:
        """Every run of workers decided the alerts the handler decided alone on full batches."""
        if self.full is None or not self.full.alerts:
            return False
        return all(run.alerts == self.full.alerts for run in self.runs)

    def render(self) -> str:
        base = self.runs[0].throughput.rate if self.runs else 0.0
        lines = [
            f"scale: {self.quotes:,} quotes over {self.tranches:,} tranches, bond.quotes in "
            f"{self.partitions} partitions; a broker and a redis-server of its own per run",
            *machine(),
            "commands: every command Redis ran, those its Lua scripts call included; scripts: the loads and "
            "commits (one round trip each); µs: Redis's main thread",
            "",
            f"{'workers':>7}{'events/s':>11}{'x one':>7}{'per worker':>12}{'cmds/event':>12}"
            f"{'scripts/event':>15}{'Redis µs/event':>16}{'Redis busy':>12}{'peak RSS MB':>13}",
        ]
        for run in self.runs:
            t = run.throughput
            commands, scripts, micros = run.redis.per_event(t.events)
            lines.append(
                f"{run.workers:>7}{t.rate:>11,.0f}{t.rate / base if base else float('nan'):>7.2f}"
                f"{t.rate / run.workers:>12,.0f}{commands:>12.2f}{scripts:>15.3f}{micros:>16.1f}"
                f"{run.redis_busy:>12.0%}{t.peak_rss_mb:>13.0f}"
                + (f"   per worker {t.per_process}" if run.workers > 1 else "")
            )
        if self.full is not None:
            commands, scripts, micros = self.full.redis.per_event(self.full.events)
            lines += [
                "",
                f"full batches ({BATCH:,} quotes each, the worker's handler in this process, a redis-server of "
                f"its own): {commands:.2f} commands/event, {scripts:.4f} scripts/event, {micros:.1f} Redis "
                f"µs/event; one primary's main thread would be busy all the time at {1e6 / micros:,.0f} "
                "events/s",
            ]
        counts: dict[str, int] = {f"{run.workers} workers": len(run.alerts) for run in self.runs}
        if self.full is not None:
            counts["full batches"] = len(self.full.alerts)
        lines += ["", f"alerts (notices committed): {counts}; the same in every run: {self.same_alerts}"]
        return "\n".join(lines)


class OwnRedisServer:
    """A redis-server on a free loopback port with nothing on disk, stopped by its own pid."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> redis.Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise BenchError("redis-server is not installed (Debian package redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(args, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return client
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def run_scale(
    quotes: int, tranches: int, workers: tuple[int, ...] = (1, 2, 4), partitions: int = 8
) -> ScaleReport:
    data = generate(quotes, tranches, seed=7)
    report = ScaleReport(quotes, tranches, partitions)
    root = Path(tempfile.mkdtemp(prefix="tranchewatch-scale-"))
    for n in workers:
        report.runs.append(_run(data, n, partitions, root))
    report.full = _full_batches(data, root)
    shutil.rmtree(root, ignore_errors=True)  # kept when a run failed: its logs say why
    return report


def _run(data: Dataset, workers: int, partitions: int, root: Path) -> ScaleRun:
    server = OwnRedisServer(root / f"redis-{workers}")
    with server as client:
        options = Options(
            quotes=len(data.quotes),
            tranches=data.tranches,
            redis_url=server.url,
            workdir=root / f"workers-{workers}",
            quotes_partitions=partitions,
        )
        bench, run, name = Bench(options), Report(options, data.counts(), 0.0), f"workers-{workers}"
        bench.timeout = 300 + data.total / 20  # as the full bench: a loaded machine runs at dozens/s
        marks: list[RedisCounters] = []
        bench.stateful(run, data, name, "worker", workers, lambda: marks.append(RedisCounters.read(client)))
        spent = RedisCounters.read(client) - marks[0]
        alerts = alert_set(client, bench.prefix_of(name))
        bench.redis.close()
        client.close()
    return ScaleRun(workers, run.throughput[name], spent, alerts)


def _full_batches(data: Dataset, root: Path) -> FullBatches:
    server = OwnRedisServer(root / "redis-full")
    with server as client:
        before = asyncio.run(_feed_all(data, server.url, client))
        spent = RedisCounters.read(client) - before
        alerts = alert_set(client, FULL_PREFIX)
        client.close()
    return FullBatches(len(data.quotes), spent, alerts)


async def _feed_all(data: Dataset, url: str, client: redis.Redis) -> RedisCounters:
    """Feeds the reference data, then the quotes in full batches; returns the counters between the two."""
    connection = AsyncRedis.from_url(url)
    handler = worker_handler(connection, FULL_PREFIX)
    offsets: dict[str, int] = {}
    try:
        for at in range(0, len(data.reference), BATCH):
            await feed_batch(handler, data.reference[at : at + BATCH], offsets)
        before = RedisCounters.read(client)
        for at in range(0, len(data.quotes), BATCH):
            await feed_batch(handler, data.quotes[at : at + BATCH], offsets)
    finally:
        await connection.aclose()
    return before
