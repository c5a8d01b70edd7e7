"""A notice delivered while Redis refuses the write that records it is recorded later, never sent again.

Found by the Redis outage test (tests/reliability/test_outages.py): the write after a send failed, the
sender went back to the outbox, found no record of the send and sent the notice a second time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from alerts.core.model import Alert, Subject
from alerts.delivery.outbox import Outbox
from alerts.delivery.sender import Sender
from alerts.metrics import AlertMetrics
from streams.state.snapshot import Commit
from streams.state.store import RedisStore

pytestmark = pytest.mark.integration
T0 = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


def notice(n: int) -> Alert:
    return Alert(fingerprint=f"fp{n}", rule="below_par", severity="warning", status="firing",
                 subject=Subject(tranche_id=f"T{n}"), starts_at=T0, event_time=T0, summary="s", evidence={})  # fmt: skip


class CountingSink:
    name = "kafka"
    min_interval_seconds = 0.0

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, alert: Alert) -> None:
        self.sent.append(alert.fingerprint)

    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        for alert in alerts:
            await self.send(alert)

    async def close(self) -> None:
        return None


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


async def test_a_failed_record_after_a_send_is_retried_not_the_send(redis: Redis, redis_prefix: str) -> None:
    assert await RedisStore(redis, redis_prefix).commit(Commit({}, {}, [], [notice(1), notice(2), notice(3)]))
    sink = CountingSink()
    sender = Sender(Outbox(redis, redis_prefix), [sink], AlertMetrics(CollectorRegistry()), block_ms=50)
    record = sender.pipeline.nflog.record
    failures = [2]

    async def flaky_record(name: str, alerts: Sequence[Alert]) -> None:
        if failures[0]:
            failures[0] -= 1
            raise RedisConnectionError("Connection closed by server.")
        await record(name, alerts)

    sender.pipeline.nflog.record = flaky_record  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(sender.run())
    for _ in range(300):
        if len(sink.sent) >= 3 and await Outbox(redis, redis_prefix).backlog("kafka") == (0, 0.0):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # a re-send, if any, would come now
    sender.stop()
    await asyncio.wait_for(task, 10)
    assert sink.sent == ["fp1", "fp2", "fp3"]
