"""The bench's own Kafka clients (aiokafka): fast preloading, paced publishing, the raw-consumer ceiling,
and the alerts read back from `abs.alerts`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.bench.data import Record
from streams.kafka.topics import ALERTS, INPUT_TOPICS

CHUNK = 5_000


def _producer(bootstrap: str, compression: str | None) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=2,
        max_batch_size=1 << 20,
        max_request_size=1 << 23,
        acks=1,
        compression_type=compression,
    )


async def preload(bootstrap: str, records: Sequence[Record], compression: str | None = None) -> float:
    """Publishes as fast as the client can; returns messages per second."""
    producer = _producer(bootstrap, compression)
    await producer.start()
    started = time.monotonic()
    try:
        for at in range(0, len(records), CHUNK):
            futures = [await producer.send(t, value=v, key=k) for t, k, v in records[at : at + CHUNK]]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(records) / max(time.monotonic() - started, 1e-9)


async def publish_paced(
    bootstrap: str, records: Sequence[Record], rate: float | None, compression: str | None = None
) -> list[float]:
    """Publishes at `rate` messages per second (None: as fast as possible), in 10 ms slices. Returns the
    wall-clock time each record was handed to the client, in the records' order."""
    producer = _producer(bootstrap, compression)
    await producer.start()
    sent: list[float] = []
    started = time.monotonic()
    per_slice = max(1, round(rate / 100)) if rate else CHUNK
    try:
        futures = []
        for at in range(0, len(records), per_slice):
            if rate:
                due = started + at / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            now = time.time()
            for topic, key, value in records[at : at + per_slice]:
                sent.append(now)
                futures.append(await producer.send(topic, value=value, key=key))
            if len(futures) >= CHUNK:
                await asyncio.gather(*futures)
                futures.clear()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


@dataclass
class RawResult:
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / max(self.seconds, 1e-9)


async def raw_consume(bootstrap: str, expected: int, timeout: float = 300.0) -> RawResult:
    """aiokafka alone: every input topic from the beginning, each value decoded, nothing else."""
    consumer = AIOKafkaConsumer(
        *INPUT_TOPICS,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_bytes=64 << 20,
        max_partition_fetch_bytes=16 << 20,
    )
    await consumer.start()
    count, first = 0, None
    deadline = time.monotonic() + timeout
    try:
        while count < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            if first is None and batches:
                first = time.monotonic()
            for messages in batches.values():
                for message in messages:
                    orjson.loads(message.value)
                count += len(messages)
    finally:
        await consumer.stop()
    return RawResult(count, time.monotonic() - (first or time.monotonic()))


@dataclass
class AlertReader:
    """Reads `abs.alerts` in the background, stamping each message with its wall-clock arrival."""

    bootstrap: str
    received: list[tuple[float, dict[str, object]]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> AlertReader:
        consumer = AIOKafkaConsumer(
            ALERTS,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=5,
        )
        await consumer.start()
        self._task = asyncio.create_task(self._read(consumer))
        return self

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while not self._stop.is_set():
                batches = await consumer.getmany(timeout_ms=50)
                now = time.time()
                for messages in batches.values():
                    self.received.extend((now, orjson.loads(m.value)) for m in messages)
        finally:
            await consumer.stop()

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
