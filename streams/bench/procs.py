"""Contender processes: start them with their own settings, follow their progress, read their peak RSS,
stop them. Only processes started here are ever signalled, by their own pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streams

REPO_ROOT = Path(streams.__file__).resolve().parent.parent


class BenchError(RuntimeError):
    pass


@dataclass
class Throughput:
    events: int
    seconds: float
    peak_rss_mb: float
    per_process: list[int]

    @property
    def rate(self) -> float:
        return self.events / max(self.seconds, 1e-9)


class Process:
    """`python -m MODULE ARGS...` with TRANCHEWATCH_* settings in its environment, output to a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", *args],
            env={**os.environ, **env},
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def peak_rss_mb(self) -> float:
        """VmHWM, the resident set's high-water mark, read while the process still runs."""
        try:
            for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()


class Contender(Process):
    def __init__(self, mode: str, env: dict[str, str], workdir: Path, name: str) -> None:
        self.status_path = workdir / f"{name}.status.json"
        self.status_path.unlink(missing_ok=True)
        super().__init__(
            ["streams.bench.contender", mode, str(self.status_path)], env, workdir / f"{name}.log"
        )

    def status(self) -> dict[str, float | int | None]:
        try:
            return dict(json.loads(self.status_path.read_text()))
        except (OSError, ValueError):
            return {"count": 0, "first": None, "last": None}


def wait_until(probe: Callable[[], bool], what: str, timeout: float, procs: list[Process]) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        for p in procs:
            if not p.alive():
                raise BenchError(f"exited while waiting for {what}:\n{p.tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}:\n{procs[0].tail()}")
        time.sleep(0.05)


def run_contenders(
    mode: str,
    envs: list[dict[str, str]],
    expected: int,
    workdir: Path,
    name: str,
    timeout: float,
    started: Callable[[list[Process]], None] | None = None,
) -> Throughput:
    """Starts one process per env, calls `started` (e.g. to publish), waits until together they have handled
    `expected` events, stops them.

    The rate counts the events of the measured window (see contender.Progress), from the first any of them
    saw to the last any of them finished, on the machine's shared monotonic clock: start-up and group
    joining are not counted, a rebalance during the run is."""
    procs = [Contender(mode, env, workdir, f"{name}-{n}") for n, env in enumerate(envs)]
    try:
        if started is not None:
            started(list(procs))
        deadline = time.monotonic() + timeout
        while True:
            statuses = [p.status() for p in procs]
            if sum(int(s["count"] or 0) for s in statuses) >= expected:
                break
            for p in procs:
                if not p.alive():
                    raise BenchError(f"{name}: contender exited early:\n{p.tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{name}: {statuses} after {timeout:.0f}s, expected {expected} events")
            time.sleep(0.05)
        rss = max(p.peak_rss_mb() for p in procs)
    finally:
        for p in procs:
            p.stop()
    firsts = [float(s["first"]) for s in statuses if s["first"] is not None]
    lasts = [float(s["last"]) for s in statuses if s["last"] is not None]
    counts = [int(s.get("measured") or 0) for s in statuses]
    return Throughput(sum(counts), max(lasts) - min(firsts), rss, counts)
