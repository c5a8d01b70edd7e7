"""kafka-python's producer behind an async face: dead letters and alerts, awaited until acknowledged (one
record, or a batch sent at once and awaited together); and a read-back of a topic's newest records, with
which the alerts sink tells what a predecessor published before it could log it (alerts/notify/kafka.py).

A failed send replaces the producer before the caller retries: after a broker restart kafka-python's
idempotent producer can be left in a fatal state (InitProducerId refused) in which every later send fails,
which would stall dead letters and the alerts topic until an operator restarted the worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

log = logging.getLogger(__name__)
Headers = list[tuple[str, bytes]]


class KafkaPublisher:
    def __init__(self, bootstrap: str, client_id: str, **client_options: Any) -> None:
        self._client: dict[str, Any] = {
            "bootstrap_servers": bootstrap.split(","),
            "client_id": client_id,
            **client_options,  # security settings (streams/security.py)
        }
        self._options: dict[str, Any] = {
            "acks": "all",
            # No linger: a batch is handed over whole before the I/O thread sends it, so waiting gains nothing
            # and would cost every lone notice or dead letter 5 ms.
            "linger_ms": 0,
            "retries": 5,
            "max_in_flight_requests_per_connection": 1,  # keeps order per partition across retries
            **self._client,
        }
        self._producer = KafkaProducer(**self._options)

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        try:
            future = self._producer.send(topic, key=key, value=value, headers=list(headers))
            await asyncio.to_thread(future.get, 30)
        except Exception:
            await self._renew()
            raise

    async def publish_many(self, records: Sequence[tuple[str, bytes | None, bytes, Headers]]) -> None:
        """All records sent before any is awaited, so a batch costs one linger and a few produce requests
        instead of an acknowledgement each; order per partition is kept. Raises if any record failed."""
        try:
            futures = [self._producer.send(t, key=k, value=v, headers=h) for t, k, v, h in records]
            await asyncio.to_thread(self._wait_all, futures)
        except Exception:
            await self._renew()
            raise

    @staticmethod
    def _wait_all(futures: list[Any]) -> None:
        deadline = time.monotonic() + 30
        for future in futures:
            future.get(max(0.0, deadline - time.monotonic()))

    async def tail_headers(self, topic: str, per_partition: int) -> list[Headers]:
        """The headers of the newest `per_partition` records of every partition of `topic`."""
        return await asyncio.to_thread(self._read_tail, topic, per_partition)

    def _read_tail(self, topic: str, per_partition: int, timeout: float = 30.0) -> list[Headers]:
        # No group: nothing is committed, and this reader never joins or disturbs a consumer group.
        consumer = KafkaConsumer(**self._client, group_id=None, enable_auto_commit=False)
        try:
            tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            ends, starts = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
            todo = [tp for tp in tps if ends[tp] > starts[tp]]
            consumer.assign(todo)
            for tp in todo:
                consumer.seek(tp, max(starts[tp], ends[tp] - per_partition))
            found: list[Headers] = []
            deadline = time.monotonic() + timeout
            while todo:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"reading back the tail of {topic} took over {timeout:.0f}s")
                for records in consumer.poll(timeout_ms=200).values():
                    found += [list(r.headers or []) for r in records]
                # Done at the high watermark of the fetch responses, not the listed end offset: Tansu lists
                # the last batch's base offset + 1, short of the end (which only widens the read above).
                todo = [
                    tp for tp in todo if consumer.position(tp) < max(consumer.highwater(tp) or 0, ends[tp])
                ]
            return found
        finally:
            consumer.close()

    async def _renew(self) -> None:
        """A new producer for the next attempt; the old one is closed without waiting for its queue."""
        old = self._producer
        try:
            self._producer = await asyncio.to_thread(KafkaProducer, **self._options)
        except Exception as exc:  # broker still away: keep the old one, the next failure tries again
            log.warning("kafka producer could not be renewed yet: %s", exc)
            return
        log.info("kafka producer renewed after a failed send")
        await asyncio.to_thread(old.close, 0)

    def close(self) -> None:
        self._producer.close(timeout=5)
