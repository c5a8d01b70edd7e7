"""The Kafka sink on an in-memory topic: a batch in one publish, and the read-back that keeps a notice
published before a restart or a failed publish from going out again."""

from __future__ import annotations

import orjson
import pytest

from alerts.core.model import Alert
from alerts.exceptions import Retryable
from alerts.notify import BatchSink
from alerts.notify.kafka import NOTICE_KEY_HEADER, KafkaSink, Record, not_yet_published, notice_key
from tests.support.alerts import an_alert


def alert(n: int, seq: int = 1) -> Alert:
    return an_alert(n, summary=f"T{n} seq {seq}", evidence={"price": 94.0}, seq=seq)


class MemoryTopic:
    """One partition; `land` records of the next publish are kept before it fails, when told to."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.publishes: list[int] = []
        self.reads: list[int] = []
        self.fail_after: int | None = None

    async def publish_many(self, records: list[Record]) -> None:
        self.publishes.append(len(records))
        if self.fail_after is not None:
            self.records += records[: self.fail_after]
            self.fail_after = None
            raise TimeoutError("no acknowledgement")
        self.records += records

    async def tail_headers(self, topic: str, per_partition: int) -> list[list[tuple[str, bytes]]]:
        self.reads.append(per_partition)
        return [headers for _, _, _, headers in self.records[-per_partition:]]

    def keys(self) -> list[bytes]:
        return [dict(h)[NOTICE_KEY_HEADER] for _, _, _, h in self.records]


async def test_a_batch_is_one_publish_of_one_record_per_notice_as_the_contract_says() -> None:
    topic = MemoryTopic()
    sink = KafkaSink(topic, "abs.alerts")
    batch = [alert(n) for n in range(5)]
    await sink.notify(batch, "")
    assert topic.publishes == [5]
    for (name, key, value, headers), a in zip(topic.records, batch, strict=True):
        assert (name, key) == ("abs.alerts", a.fingerprint.encode())
        assert Alert.model_validate(orjson.loads(value)) == a
        assert headers == [(NOTICE_KEY_HEADER, f"{a.fingerprint}:{a.seq}".encode())]
    assert isinstance(sink, BatchSink)


async def test_at_start_notices_already_on_the_topic_are_not_published_again() -> None:
    topic = MemoryTopic()
    await KafkaSink(topic).notify([alert(1), alert(2)], "")  # a predecessor, killed before its nflog write
    restarted = KafkaSink(topic, max_batch=10)
    await restarted.notify([alert(1), alert(2), alert(3)], "")
    assert topic.keys() == [b"fp1:1", b"fp2:1", b"fp3:1"]
    assert topic.reads[-1] == 20  # twice the batch limit per partition
    await restarted.notify([alert(4)], "")
    assert len(topic.reads) == 2  # no read-back while nothing happened behind its back


async def test_a_publish_that_fails_part_way_is_retried_without_repeats() -> None:
    topic = MemoryTopic()
    sink = KafkaSink(topic)
    await sink.notify([alert(0)], "")
    topic.fail_after = 2
    batch = [alert(n) for n in range(1, 6)]
    with pytest.raises(Retryable):
        await sink.notify(batch, "")
    await sink.notify(batch, "")
    assert topic.keys() == [b"fp0:1", b"fp1:1", b"fp2:1", b"fp3:1", b"fp4:1", b"fp5:1"]


async def test_resync_reads_the_topic_again() -> None:
    topic = MemoryTopic()
    sink = KafkaSink(topic)
    await sink.notify([alert(1)], "")
    await KafkaSink(topic).notify([alert(2)], "")  # another worker, while this one had lost its lease
    sink.resync()
    await sink.notify([alert(2), alert(3)], "")
    assert topic.keys() == [b"fp1:1", b"fp2:1", b"fp3:1"]


def test_past_a_gap_in_a_fingerprints_transitions_a_notice_is_sent_again_not_lost() -> None:
    batch = [alert(1, seq=1), alert(2, seq=1), alert(1, seq=2), alert(1, seq=3)]
    on_topic = {notice_key(batch[1]), notice_key(batch[2])}  # fp1 seq 2 landed, seq 1 did not
    assert not_yet_published(batch, on_topic) == [batch[0], batch[2], batch[3]]
    assert not_yet_published(batch, {notice_key(a) for a in batch[:3]}) == [batch[3]]


async def test_a_batch_over_the_limit_is_refused_before_anything_is_published() -> None:
    topic = MemoryTopic()
    with pytest.raises(ValueError, match="batch limit"):
        await KafkaSink(topic, max_batch=2).notify([alert(1), alert(2), alert(3)], "")
    assert topic.publishes == []
