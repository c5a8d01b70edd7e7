"""`tranchewatch demo`: the embedded broker, the local Redis, the bus-company story, the worker, alerts printed."""

from __future__ import annotations

import logging
import os
import sys
from importlib import resources
from pathlib import Path

import redis

from streams.broker import EmbeddedBroker
from streams.publish import publish_records, read_jsonl
from streams.settings import Settings
from streams.topics import ensure_topics
from streams.worker import run_worker

DEMO_PREFIX = "tw:demo:"


def scenario_path() -> Path:
    return Path(str(resources.files("streams") / "demo" / "scenario.jsonl"))


def clear_prefix(redis_url: str, prefix: str) -> int:
    """The demo starts from nothing; it deletes only keys under its own prefix."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def run_demo(scenario: Path | None = None) -> int:
    os.environ.setdefault("TRANCHEWATCH_REDIS_PREFIX", DEMO_PREFIX)
    os.environ.setdefault("TRANCHEWATCH_APP_ID", "tranchewatch-demo")
    os.environ.setdefault("TRANCHEWATCH_LOG_LEVEL", "WARNING")
    broker = EmbeddedBroker(log_file=Path(os.environ.get("TMPDIR", "/tmp")) / "tranchewatch-demo-broker.log")
    broker.start()
    try:
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        clear_prefix(settings.redis_url.get_secret_value(), settings.redis_prefix)
        ensure_topics(settings)
        records = read_jsonl(scenario or scenario_path())
        counts = publish_records(settings.kafka_bootstrap, records)
        logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
        print(
            f"tranchewatch demo: broker {broker.bootstrap}, Redis prefix {settings.redis_prefix!r}, "
            f"published {dict(counts)}.\n"
            f"Metrics at http://{settings.http_host}:{settings.http_port}/metrics. Alerts follow; Ctrl-C stops.",
            flush=True,
        )
        return run_worker(settings)
    finally:
        broker.stop()
