"""kafka-python's producer behind an async face: dead letters and alerts, each awaited until acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from kafka import KafkaProducer


class KafkaPublisher:
    def __init__(self, bootstrap: str, client_id: str) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap.split(","),
            client_id=client_id,
            acks="all",
            linger_ms=5,
            retries=5,
            max_in_flight_requests_per_connection=1,  # keeps order per partition across retries
        )

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        future = self._producer.send(topic, key=key, value=value, headers=list(headers))
        await asyncio.to_thread(future.get, 30)

    async def publish_many(
        self, records: Sequence[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        futures = [self._producer.send(t, key=k, value=v, headers=h) for t, k, v, h in records]
        await asyncio.to_thread(self._wait_all, futures)

    @staticmethod
    def _wait_all(futures: list[object]) -> None:
        for future in futures:
            future.get(30)  # type: ignore[attr-defined]

    def close(self) -> None:
        self._producer.close(timeout=5)
