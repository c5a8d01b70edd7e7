"""The Kafka sink on the real broker and Redis: notices go out in batches, and a batch published by a sender
killed before its nflog write is not published again by the next one, which reads the topic back."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest
from kafka.admin import KafkaAdminClient, NewTopic
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from alerts.core.model import Alert
from alerts.delivery.outbox import Outbox
from alerts.delivery.sender import Sender
from alerts.metrics import AlertMetrics
from alerts.notify.kafka import NOTICE_KEY_HEADER, KafkaSink, Record
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.producer import KafkaPublisher
from tests.integration.notify_support import commit, make_alert, run_until
from tests.support.kafka_io import read_all

pytestmark = pytest.mark.integration


class Killed(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even the nflog write."""


class KilledAfterPublish(KafkaSink):
    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        await super().notify(alerts, title)
        raise Killed


class CountingPublisher:
    def __init__(self) -> None:
        self.batches: list[int] = []

    async def publish_many(self, records: list[Record]) -> None:
        self.batches.append(len(records))

    async def tail_headers(self, topic: str, per_partition: int) -> list[list[tuple[str, bytes]]]:
        return []


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def notices() -> list[Alert]:
    """Thirty notices, some fingerprints with a second transition later in the batch."""
    first = [make_alert(f"T{n}") for n in range(25)]
    return first + [make_alert(f"T{n}", severity="warning", seq=2) for n in range(5)]


def sender_for(redis: Redis, prefix: str, sink: KafkaSink) -> Sender:
    return Sender(Outbox(redis, prefix), [sink], AlertMetrics(CollectorRegistry()), block_ms=50)


async def test_a_batch_published_but_never_logged_is_not_published_again(
    broker: EmbeddedBroker, redis: Redis, redis_prefix: str
) -> None:
    topic = f"alerts-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    want = notices()
    await commit(redis, redis_prefix, *want)

    killed = sender_for(
        redis, redis_prefix, KilledAfterPublish(KafkaPublisher(broker.bootstrap, "t1"), topic)
    )
    with pytest.raises(Killed):
        await killed.run()
    assert len(read_all(broker.bootstrap, topic)) == len(want)
    assert await redis.hlen(f"{redis_prefix}nflog:kafka") == 0  # the sender died before logging them

    publisher = KafkaPublisher(broker.bootstrap, "t2")
    sink = KafkaSink(publisher, topic)
    await run_until(sender_for(redis, redis_prefix, sink), lambda: True)
    later = make_alert("T99")
    await commit(redis, redis_prefix, later)
    await run_until(sender_for(redis, redis_prefix, sink), lambda: True)
    publisher.close()

    records = read_all(broker.bootstrap, topic)
    keys = Counter(dict(r.headers)[NOTICE_KEY_HEADER] for r in records)
    assert keys == Counter(f"{a.fingerprint}:{a.seq}".encode() for a in [*want, later])
    for record in records:
        alert = Alert.model_validate_json(record.value)
        assert record.key == alert.fingerprint.encode()
    nflog = await redis.hgetall(f"{redis_prefix}nflog:kafka")
    assert nflog[make_alert("T0").fingerprint.encode()] == b"2"  # logged once the restarted sender found them


async def test_the_sender_hands_a_batch_sink_whole_batches_no_larger_than_its_limit(
    redis: Redis, redis_prefix: str
) -> None:
    await commit(redis, redis_prefix, *[make_alert(f"T{n}") for n in range(25)])
    publisher = CountingPublisher()
    sender = sender_for(redis, redis_prefix, KafkaSink(publisher, max_batch=10))
    await run_until(sender, lambda: sum(publisher.batches) == 25)
    assert publisher.batches == [10, 10, 5]
