"""`tranchewatch demo`: the embedded broker, the local Redis, the bus-company story, the worker, alerts printed."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.publish import publish_records, read_jsonl
from streams.kafka.topics import ensure_topics
from streams.redis_client import sync_redis
from streams.settings import Settings
from streams.state.keys import StateKeys
from streams.worker.run import run_worker

DEMO_PREFIX = "tw:demo:"


def scenario_path() -> Path:
    return Path(str(resources.files("streams") / "demo" / "scenario.jsonl"))


def clear_prefix(settings: Settings, prefix: str) -> int:
    """The demo starts from nothing; it deletes only keys under its own prefix."""
    client = sync_redis(settings)
    try:
        keys = list(client.scan_iter(match=StateKeys(prefix).everything, count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def _paced(records: list[tuple[str, Any]], pace_seconds: float) -> Iterator[tuple[str, Any]]:
    """One record at a time, `pace_seconds` apart, through one producer (a producer per record spent more
    time connecting than the pace itself); it sends each within its 5 ms linger."""
    for i, record in enumerate(records):
        if i:
            time.sleep(pace_seconds)
        yield record


def _publish_when_ready(settings: Settings, records: list[tuple[str, Any]], pace_seconds: float) -> None:
    """Feeds the story in once the worker is consuming, one event at a time, so alerts fire in story order."""
    url = f"http://{settings.http_host}:{settings.http_port}/readyz"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.5)
    publish_records(settings.kafka_bootstrap, _paced(records, pace_seconds))
    print(f"demo: all {len(records)} events published; the worker keeps running (Ctrl-C stops).", flush=True)


def run_demo(scenario: Path | None = None, pace_seconds: float = 0.25) -> int:
    os.environ.setdefault("TRANCHEWATCH_REDIS_PREFIX", DEMO_PREFIX)
    os.environ.setdefault("TRANCHEWATCH_APP_ID", "tranchewatch-demo")
    os.environ.setdefault("TRANCHEWATCH_LOG_LEVEL", "WARNING")
    os.environ.setdefault("TRANCHEWATCH_RULES_FILE", str(scenario_path().with_name("rules.toml")))
    # Two funds' holdings, so alerts say who holds the paper ("held: Rmb50.0mn in fund-a").
    os.environ.setdefault("TRANCHEWATCH_POSITIONS_FILE", str(scenario_path().with_name("positions.csv")))
    # The embedded broker answers a consumer's JoinGroup after half its rebalance timeout.
    os.environ.setdefault("TRANCHEWATCH_REBALANCE_TIMEOUT_SECONDS", "2")
    broker = EmbeddedBroker(log_file=Path(tempfile.gettempdir()) / "tranchewatch-demo-broker.log")
    broker.start()
    try:
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        clear_prefix(settings, settings.redis_prefix)
        ensure_topics(settings)
        records = read_jsonl(scenario or scenario_path())
        logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
        print(
            f"tranchewatch demo: embedded broker on {broker.bootstrap}, Redis state under "
            f"{settings.redis_prefix!r}.\nMetrics at http://{settings.http_host}:{settings.http_port}/metrics. "
            f"Publishing {len(records)} events of the story once the worker is ready; alerts follow.",
            flush=True,
        )
        feeder = threading.Thread(
            target=_publish_when_ready, args=(settings, records, pace_seconds), daemon=True, name="demo-feed"
        )
        feeder.start()
        return run_worker(settings)
    finally:
        broker.stop()
