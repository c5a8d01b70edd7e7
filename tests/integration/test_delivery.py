"""The outbox sender against the stand-in Slack and the real Redis: retries, Retry-After, permanent errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from alerts.core.model import Alert
from alerts.delivery.outbox import Outbox
from alerts.delivery.sender import LEASE_MS, Sender
from alerts.metrics import AlertMetrics
from alerts.notify.slack import SlackWebhookSink
from streams.state.snapshot import Commit
from streams.state.store import RedisStore
from tests.support.alerts import an_alert
from tests.support.slack_stub import ScriptedReply, SlackStub

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def alert(n: int) -> Alert:
    return an_alert(n)


async def run_until(sender: Sender, done: asyncio.Future[None] | None = None, timeout: float = 30) -> None:
    task = asyncio.create_task(sender.run())
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (done and done.done()):
            await asyncio.sleep(0.05)
    finally:
        sender.stop()
        await asyncio.wait_for(task, 10)


async def test_retries_honour_retry_after_and_permanent_errors_are_recorded(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    store = RedisStore(redis, redis_prefix)
    assert await store.commit(Commit({}, {}, [], [alert(1), alert(2), alert(3)]))
    slack.script(
        ScriptedReply(500, "oops"),
        ScriptedReply(429, "rate_limited", {"Retry-After": "1"}),
        ScriptedReply(200, "ok"),  # alert 1 after two retries
        ScriptedReply(400, "invalid_payload"),  # alert 2: permanent
        ScriptedReply(200, "ok"),  # alert 3
    )
    metrics = AlertMetrics(CollectorRegistry())
    sink = SlackWebhookSink(slack.url, min_interval_seconds=0.2)
    sender = Sender(Outbox(redis, redis_prefix), [sink], metrics, retry_base_seconds=0.05)
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def watch() -> None:
        while len(slack.received) < 2:
            await asyncio.sleep(0.05)
        finished.set_result(None)

    started = time.monotonic()
    watcher = asyncio.create_task(watch())
    await run_until(sender, finished)
    watcher.cancel()
    assert [m["text"].split("T")[-1][:1] for m in slack.received] == ["1", "3"]
    assert time.monotonic() - started >= 1.0  # the 429's Retry-After was waited out
    sample = metrics.registry.get_sample_value
    assert sample("tranchewatch_notifications_total", {"sink": "slack", "outcome": "retried"}) == 2
    assert sample("tranchewatch_notifications_total", {"sink": "slack", "outcome": "failed"}) == 1
    assert sample("tranchewatch_notifications_total", {"sink": "slack", "outcome": "sent"}) == 2
    failures = await redis.lrange(f"{redis_prefix}outbox:failed:slack", 0, -1)
    assert len(failures) == 1 and b"invalid_payload" in failures[0] and b"fp2" in failures[0]
    assert b"hooks-secret-token" not in failures[0]


async def test_a_restarted_sender_resumes_after_the_last_confirmed_notice(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    store = RedisStore(redis, redis_prefix)
    assert await store.commit(Commit({}, {}, [], [alert(1), alert(2)]))
    metrics = AlertMetrics(CollectorRegistry())
    outbox = Outbox(redis, redis_prefix)
    first = Sender(outbox, [SlackWebhookSink(slack.url, min_interval_seconds=0)], metrics)
    await run_until(first, timeout=2)
    assert len(slack.received) == 2
    await outbox.release_lease("slack", first.owner)
    assert await store.commit(Commit({}, {}, [], [alert(3)]))
    second = Sender(outbox, [SlackWebhookSink(slack.url, min_interval_seconds=0)], metrics)
    await run_until(second, timeout=2)
    assert [m["text"] for m in slack.received].count(slack.received[0]["text"]) == 1
    assert len(slack.received) == 3


class _Recording:
    name = "slack"
    min_interval_seconds = 0.0

    def __init__(self, on_notify: object) -> None:
        self.sent: list[list[str]] = []
        self._on_notify = on_notify

    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        self.sent.append([a.fingerprint for a in alerts])
        await self._on_notify()  # type: ignore[operator]

    async def close(self) -> None:
        return None


async def test_a_sender_that_loses_its_lease_mid_batch_stops_sending(redis: Redis, redis_prefix: str) -> None:
    store = RedisStore(redis, redis_prefix)
    assert await store.commit(Commit({}, {}, [], [alert(1), alert(2), alert(3)]))

    lapsed = 0.0

    async def another_worker_takes_the_lease() -> None:
        # The send outlasts the lease (as in a long outage), so the lease lapses and another worker takes it.
        nonlocal lapsed
        lapsed += LEASE_MS / 1000
        await redis.set(f"{redis_prefix}outbox:lease:slack", "another-worker", px=60_000)

    sink = _Recording(another_worker_takes_the_lease)
    metrics = AlertMetrics(CollectorRegistry())
    sender = Sender(Outbox(redis, redis_prefix), [sink], metrics, clock=lambda: time.monotonic() + lapsed)
    await run_until(sender, timeout=2)
    assert sink.sent == [["fp1"]]  # the other two are left to the lease's new holder
    assert await Outbox(redis, redis_prefix).cursor("slack") == "0-0"  # not confirmed
