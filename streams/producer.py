"""kafka-python's producer behind an async face: dead letters and alerts, each awaited until acknowledged.

A failed send replaces the producer before the caller retries: after a broker restart kafka-python's
idempotent producer can be left in a fatal state (InitProducerId refused) in which every later send fails,
which would stall dead letters and the alerts topic until an operator restarted the worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from kafka import KafkaProducer

log = logging.getLogger(__name__)


class KafkaPublisher:
    def __init__(self, bootstrap: str, client_id: str, **client_options: Any) -> None:
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap.split(","),
            "client_id": client_id,
            "acks": "all",
            "linger_ms": 5,
            "retries": 5,
            "max_in_flight_requests_per_connection": 1,  # keeps order per partition across retries
            **client_options,  # security settings (streams/kafka_security.py)
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

    async def publish_many(
        self, records: Sequence[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        try:
            futures = [self._producer.send(t, key=k, value=v, headers=h) for t, k, v, h in records]
            await asyncio.to_thread(self._wait_all, futures)
        except Exception:
            await self._renew()
            raise

    @staticmethod
    def _wait_all(futures: list[object]) -> None:
        for future in futures:
            future.get(30)  # type: ignore[attr-defined]

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
