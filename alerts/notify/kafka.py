"""The `abs.alerts` topic, keyed by fingerprint, through whatever publisher the runtime hands in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from alerts.exceptions import Retryable
from alerts.model import Alert


class Publisher(Protocol):
    async def publish(self, topic: str, key: bytes, value: bytes) -> None: ...

    async def publish_many(
        self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None: ...


class KafkaSink:
    name = "kafka"
    min_interval_seconds = 0.0
    # A batch of notices goes as one produce call awaited once: one by one, each waited for its broker
    # acknowledgement (~7 ms), capped the topic at ~135 notices a second and queued alert storms for seconds.
    batches = True

    def __init__(self, publisher: Publisher, topic: str = "abs.alerts") -> None:
        self._publisher = publisher
        self._topic = topic

    async def send(self, alert: Alert) -> None:
        try:
            await self._publisher.publish(
                self._topic, alert.fingerprint.encode(), alert.model_dump_json().encode()
            )
        except Exception as exc:  # the broker's client raises many types; all are worth a retry
            raise Retryable(f"publish to {self._topic} failed: {exc!r}") from None

    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        # One record per notice, keyed by fingerprint (the wire contract), in order on each partition.
        records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = [
            (self._topic, a.fingerprint.encode(), a.model_dump_json().encode(), []) for a in alerts
        ]
        try:
            await self._publisher.publish_many(records)
        except Exception as exc:  # the broker's client raises many types; all are worth a retry
            raise Retryable(f"publish of {len(records)} notices to {self._topic} failed: {exc!r}") from None

    async def close(self) -> None:
        return None
