"""The faust app: consumer tuning from settings, the agents, the background tasks and the HTTP endpoints."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import faust
from prometheus_client import generate_latest

from streams.settings import Settings
from streams.worker.agents import register_agents
from streams.worker.credentials import faust_credentials
from streams.worker.faust_tuning.consumer import use_tuned_consumer
from streams.worker.fetch_errors import FetchHealth
from streams.worker.gauges import refresh_lag
from streams.worker.positions import install_sighup, report
from streams.worker.runtime import Runtime
from streams.worker.state_watch import MarkerWatch, PolicyWatch
from streams.worker.web import register_api, register_state_pages
from streams.worker.web_pages import register_web_pages

log = logging.getLogger(__name__)
HEARTBEAT_STALE_SECONDS = 10.0
# aiohttp refuses a charset inside content_type; the text format is UTF-8 by definition.
PROMETHEUS_TEXT = "text/plain; version=0.0.4"


def use_event_loop(s: Settings) -> None:
    """Installs the configured event loop policy; call before the app is built."""
    if s.event_loop == "uvloop":
        import mode.loop

        mode.loop.use("uvloop")


def faust_settings(s: Settings) -> dict[str, Any]:
    """The faust App's keyword arguments: consumer and stream tuning from Settings."""
    return dict(
        broker=";".join(f"kafka://{h.strip()}" for h in s.kafka_bootstrap.split(",")),
        broker_credentials=faust_credentials(s),
        store="memory://",
        autodiscover=False,
        datadir=str(Path(tempfile.gettempdir()) / f"tranchewatch-{s.app_id}"),
        topic_allow_declare=False,  # topics are created with their partition counts by ensure_topics
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=s.session_timeout_seconds,
        broker_rebalance_timeout=s.rebalance_timeout_seconds,
        broker_heartbeat_interval=s.heartbeat_interval_seconds,
        broker_commit_interval=1.0,
        broker_max_poll_records=s.max_poll_records,
        consumer_max_fetch_size=s.max_fetch_bytes,
        stream_buffer_maxsize=s.stream_buffer_maxsize,
        cython_optimizations=s.cython_fast_paths,
        **({"Monitor": "streams.worker.faust_tuning.sensors:LeanMonitor"} if s.lean_monitor else {}),
        web_enabled=True,
        web_bind=s.http_host,
        web_host=s.http_host,
        web_port=s.http_port,
        web_in_thread=False,
    )


def new_app(s: Settings, fetch_health: FetchHealth | None = None, **overrides: Any) -> faust.App:
    """A faust App with tranchewatch's settings (and `overrides`), consuming through tranchewatch's consumer;
    `fetch_health` hears of records that cannot be fetched or decoded."""
    app = faust.App(s.app_id, **{**faust_settings(s), **overrides})
    use_tuned_consumer(
        app,
        batch_drain=s.batch_drain,
        lean_conductor=s.lean_conductor,
        fetch_max_wait_ms=s.fetch_max_wait_ms,
        fetch_health=fetch_health,
        isolation_level=s.kafka_isolation_level,
    )
    return app


def build_app(runtime: Runtime) -> faust.App:
    fetch_health = FetchHealth(
        lambda topic, kind: runtime.metrics.fetch_errors.labels(topic, kind).inc(),
        retry_max_seconds=runtime.settings.fetch_retry_max_seconds,
    )
    runtime.readiness.add("fetch", fetch_health.reason)
    app = new_app(runtime.settings, fetch_health)
    register_agents(app, runtime.settings, runtime.handler.handle)
    add_readiness_checks(app, runtime)
    liveness = _Liveness()
    _register_tasks(app, runtime, liveness)
    _register_pages(app, runtime, liveness)
    register_state_pages(app, runtime)
    register_web_pages(app, runtime)
    register_api(app, runtime)
    return app


class _Liveness:
    def __init__(self) -> None:
        self.beat = time.monotonic()


def _register_tasks(app: faust.App, runtime: Runtime, liveness: _Liveness) -> None:
    @app.task  # type: ignore[untyped-decorator]
    async def deliver_notices() -> None:
        try:
            await runtime.sender.run()
        finally:
            runtime.sender.stop()

    @app.task  # type: ignore[untyped-decorator]
    async def watch_positions() -> None:
        # Here, in the worker's own loop: mode's Worker installs its signal handlers before the tasks run,
        # and SIGHUP is not one of them.
        book, prefix = runtime.positions, runtime.settings.redis_prefix
        install_sighup(book, runtime.redis, prefix, runtime.metrics)  # also without a file: a stray SIGHUP
        await report(runtime.redis, prefix, book.current, runtime.metrics)  # must not kill the worker

    @app.task  # type: ignore[untyped-decorator]
    async def heartbeat() -> None:
        # Its own task, doing nothing else: if this stops beating, the event loop is stalled.
        while True:
            liveness.beat = time.monotonic()
            await asyncio.sleep(1.0)

    @app.task  # type: ignore[untyped-decorator]
    async def watch_redis_policy() -> None:
        guard = runtime.handler.guard
        await PolicyWatch(runtime.redis, runtime.settings, guard, runtime.metrics).run()

    @app.task  # type: ignore[untyped-decorator]
    async def watch_state_marker() -> None:
        every = runtime.settings.state_check_seconds
        guard = runtime.handler.guard
        await MarkerWatch(runtime.store, guard, runtime.sender, runtime.metrics, every).run()

    @app.task  # type: ignore[untyped-decorator]
    async def keep_gauges() -> None:
        while True:
            try:
                await refresh_lag(app.consumer, runtime.metrics)
                await runtime.refresh_gauges()
                runtime.metrics.worker_ready.set(0 if await runtime.readiness.reasons() else 1)
            except Exception as exc:  # a gauge must never take the worker down
                log.debug("gauge refresh failed: %s", exc)
            await asyncio.sleep(2.0)

    @app.task  # type: ignore[untyped-decorator]
    async def keep_exposure_gauges() -> None:
        # Apart from keep_gauges: it reads every state document, so it runs far less often than every 2 s.
        every = runtime.settings.exposure_metrics_seconds
        while every > 0:
            try:
                await runtime.refresh_exposure_gauges()
            except Exception as exc:  # a gauge must never take the worker down
                log.debug("exposure gauge refresh failed: %s", exc)
            await asyncio.sleep(every)


def add_readiness_checks(app: faust.App, runtime: Runtime) -> None:
    """The worker's own reasons not to be ready; other parts add theirs to `runtime.readiness`."""

    def kafka() -> str | None:
        return (
            None if app.consumer.assignment() else "no partitions assigned (joining the group or no broker)"
        )

    async def redis() -> str | None:
        if not runtime.handler.redis_healthy:
            return "the last batch could not reach Redis"
        return None if await runtime.redis.ping() else "Redis did not answer a ping"

    def state() -> str | None:
        # What stopped the commits (streams/state/guard.py), each by kind, and what to do.
        reasons = runtime.handler.guard.reasons
        return "; ".join(f"{kind}: {reason}" for kind, reason in reasons.items()) or None

    runtime.readiness.add("kafka", kafka)
    runtime.readiness.add("redis", redis)
    runtime.readiness.add("state", state)


def _register_pages(app: faust.App, runtime: Runtime, liveness: _Liveness) -> None:
    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(runtime.metrics.registry), content_type=PROMETHEUS_TEXT)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        age = time.monotonic() - liveness.beat
        ok = age < HEARTBEAT_STALE_SECONDS
        return web.json({"ok": ok, "heartbeat_age_seconds": round(age, 3)}, status=200 if ok else 503)

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        reasons = await runtime.readiness.reasons()
        return web.json({"ready": not reasons, "reasons": reasons}, status=503 if reasons else 200)
