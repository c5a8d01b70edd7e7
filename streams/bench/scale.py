"""`tranchewatch bench --only scale`: 1, 2 and 4 workers on one 8-partition quote topic.

Each run gets a broker and a redis-server of its own (free loopback ports, nothing on disk), so Redis's
counters hold only that run's work: the shared Redis of a machine serves other clients, whose commands and CPU
would be counted too. The workers read the deals and financials first, then the quotes are published as fast
as the client can; the bench reports, for the quotes:
- events per second (first quote seen to last handled, over all workers) and per worker;
- Redis commands per event (`total_commands_processed`);
- Redis main-thread CPU per event (`used_cpu_{sys,user}_main_thread`), and from it the events per second at
  which one primary's main thread would be busy all the time: the projected ceiling of one primary;
- whether every run decided the same alerts (the set of committed notices).
Every figure comes from the same run on the same machine; none is asserted.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from streams.bench.data import Dataset, generate
from streams.bench.procs import BenchError, Throughput
from streams.bench.redis_stats import AlertKey, alert_set
from streams.bench.report import machine
from streams.bench.run import Bench, Options, Report
from streams.kafka.broker import free_port


@dataclass
class RedisCounters:
    commands: int
    cpu_seconds: float  # main thread, system + user

    @classmethod
    def read(cls, client: redis.Redis) -> RedisCounters:
        stats, cpu = client.info("stats"), client.info("cpu")
        main = float(cpu["used_cpu_sys_main_thread"]) + float(cpu["used_cpu_user_main_thread"])
        return cls(int(stats["total_commands_processed"]), main)

    def __sub__(self, other: RedisCounters) -> RedisCounters:
        return RedisCounters(self.commands - other.commands, self.cpu_seconds - other.cpu_seconds)


@dataclass
class ScaleRun:
    workers: int
    throughput: Throughput
    redis: RedisCounters  # during the quotes
    alerts: set[AlertKey]

    @property
    def commands_per_event(self) -> float:
        return self.redis.commands / max(self.throughput.events, 1)

    @property
    def redis_us_per_event(self) -> float:
        return self.redis.cpu_seconds / max(self.throughput.events, 1) * 1e6

    @property
    def redis_busy(self) -> float:
        """Share of the run's wall time Redis's main thread spent working."""
        return self.redis.cpu_seconds / max(self.throughput.seconds, 1e-9)


@dataclass
class ScaleReport:
    quotes: int
    tranches: int
    partitions: int
    runs: list[ScaleRun] = field(default_factory=list)

    @property
    def same_alerts(self) -> bool:
        first = self.runs[0].alerts if self.runs else set()
        return bool(first) and all(run.alerts == first for run in self.runs)

    def render(self) -> str:
        base = self.runs[0].throughput.rate if self.runs else 0.0
        lines = [
            f"scale: {self.quotes:,} quotes over {self.tranches:,} tranches, bond.quotes in "
            f"{self.partitions} partitions; a broker and a redis-server of its own per run",
            *machine(),
            "",
            f"{'workers':>7}{'events/s':>11}{'x one':>7}{'per worker':>12}{'cmds/event':>12}"
            f"{'Redis µs/event':>16}{'Redis busy':>12}{'1 primary max/s':>17}{'peak RSS MB':>13}",
        ]
        for run in self.runs:
            t = run.throughput
            ceiling = 1e6 / run.redis_us_per_event if run.redis_us_per_event else float("nan")
            lines.append(
                f"{run.workers:>7}{t.rate:>11,.0f}{t.rate / base if base else float('nan'):>7.2f}"
                f"{t.rate / run.workers:>12,.0f}{run.commands_per_event:>12.3f}{run.redis_us_per_event:>16.1f}"
                f"{run.redis_busy:>12.0%}{ceiling:>17,.0f}{t.peak_rss_mb:>13.0f}"
                + (f"   per worker {t.per_process}" if run.workers > 1 else "")
            )
        counts = {run.workers: len(run.alerts) for run in self.runs}
        lines += [
            "",
            f"alerts (notices committed) by workers: {counts}; the same in every run: {self.same_alerts}",
        ]
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
        bench.timeout = 300 + data.total / 200
        marks: list[RedisCounters] = []
        bench.stateful(run, data, name, "worker", workers, lambda: marks.append(RedisCounters.read(client)))
        spent = RedisCounters.read(client) - marks[0]
        alerts = alert_set(client, bench.prefix_of(name))
        bench.redis.close()
        client.close()
    return ScaleRun(workers, run.throughput[name], spent, alerts)
