"""One faust contender in its own process: `python -m streams.bench.contender MODE STATUS_FILE`.

Modes: `empty` (an agent that only counts, faust's default consumer settings, one event at a time),
`empty-tuned` (the worker's settings and batching, a handler that only counts), `naive` (one event at a time,
one Redis call per read and write) and `worker` (tranchewatch's own app, every rule on, the notice sender
running). Settings come from TRANCHEWATCH_* like the worker's. Every 0.2 s the process writes how many
events it has handled and when the first arrived and the last was done (monotonic clock, which all
processes of the machine share), so the bench can sum several processes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import faust
from redis.asyncio import Redis

from streams.bench.naive import NaiveStore, handle_one
from streams.ingest.deadletter import Envelope
from streams.kafka.topics import INPUT_TOPICS, QUOTES
from streams.rules.registry import RulesConfig
from streams.settings import Settings
from streams.worker.agents import register_agents
from streams.worker.app import build_app, new_app, use_event_loop
from streams.worker.runtime import Runtime

MODES = ("empty", "empty-tuned", "naive", "worker")


class Progress:
    """Events handled; the measured window opens at the first event of `start_topic` (any topic if None)."""

    def __init__(self, path: Path, start_topic: str | None) -> None:
        self.path = path
        self.start_topic = start_topic
        self.count = 0
        self.measured = 0
        self.first: float | None = None
        self.last: float | None = None

    def started(self, topic: str) -> None:
        if self.first is None and (self.start_topic is None or topic == self.start_topic):
            self.first = time.monotonic()

    def done(self, count: int) -> None:
        self.count += count
        if self.first is not None:
            self.measured += count
        self.last = time.monotonic()

    def write(self) -> None:
        body = {
            "count": self.count,
            "measured": self.measured,
            "first": self.first,
            "last": self.last,
            "pid": os.getpid(),
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body))
        tmp.replace(self.path)


def _default_app(settings: Settings) -> faust.App:
    """faust's defaults, except what this broker and a bench need: no topic creation, no web server."""
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        autodiscover=False,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_rebalance_timeout=settings.rebalance_timeout_seconds,
        broker_session_timeout=settings.session_timeout_seconds,
        web_enabled=False,
    )


def _tuned_app(settings: Settings) -> faust.App:
    return new_app(settings, web_enabled=False)


def _raw_topics(app: faust.App) -> list[Any]:
    return [
        app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
        for name in INPUT_TOPICS
    ]


def _empty(settings: Settings, progress: Progress) -> faust.App:
    app = _default_app(settings)

    async def count(stream: Any) -> None:
        async for _ in stream:
            progress.started("")
            progress.done(1)

    for n, topic in enumerate(_raw_topics(app)):
        app.agent(topic, name=f"bench.empty.{n}", concurrency=1)(count)
    return app


def _empty_tuned(settings: Settings, progress: Progress) -> faust.App:
    app = _tuned_app(settings)

    async def handle(batch: list[Envelope]) -> None:
        progress.started(batch[0].topic)
        progress.done(len(batch))

    register_agents(app, settings, handle)
    return app


def _naive(settings: Settings, progress: Progress) -> faust.App:
    app = _tuned_app(settings)
    redis = Redis.from_url(settings.redis_url.get_secret_value())
    store = NaiveStore(redis, settings.redis_prefix)
    rules = RulesConfig.load(settings.rules_file)

    async def one_at_a_time(stream: Any) -> None:
        async for event in stream.events():
            progress.started(event.message.topic)
            await handle_one(store, rules, event.message.topic, event.value)
            progress.done(1)

    # One agent over the three topics: with no version check, two agents would overwrite each other's
    # documents (the market's, a tranche's), and the baseline must decide the same alerts as the worker.
    topic = app.topic(
        *INPUT_TOPICS, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    app.agent(topic, name="bench.naive", concurrency=1)(one_at_a_time)
    return app


def _worker(settings: Settings, progress: Progress) -> faust.App:
    runtime = Runtime.build(settings)
    inner = runtime.handler.handle

    async def timed(batch: list[Envelope]) -> object:
        progress.started(batch[0].topic)
        result = await inner(batch)
        progress.done(len(batch))
        return result

    setattr(runtime.handler, "handle", timed)  # noqa: B010 - the bench's only hook into the worker
    app = build_app(runtime)

    def _stop_sender(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        runtime.sender.stop()

    app.on_before_shutdown.connect(_stop_sender)
    return app


def main(argv: list[str]) -> int:
    mode, status = argv[0], Path(argv[1])
    if mode not in MODES:
        sys.exit(f"mode must be one of {', '.join(MODES)}")
    settings = Settings()
    if mode != "empty":
        use_event_loop(settings)
    # The stateful contenders get their deals and financials first; their rate is measured on the quotes.
    progress = Progress(status, QUOTES if mode in ("naive", "worker") else None)
    builders = {"empty": _empty, "empty-tuned": _empty_tuned, "naive": _naive, "worker": _worker}
    app = builders[mode](settings, progress)

    @app.timer(0.2)  # type: ignore[untyped-decorator]
    async def report() -> None:
        progress.write()

    worker = faust.Worker(app, loglevel="WARNING", quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
