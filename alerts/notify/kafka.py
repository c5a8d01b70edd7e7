"""The `abs.alerts` topic, keyed by fingerprint, through whatever publisher the runtime hands in."""

from __future__ import annotations

from typing import Protocol

from alerts.exceptions import Retryable
from alerts.model import Alert


class Publisher(Protocol):
    async def publish(self, topic: str, key: bytes, value: bytes) -> None: ...


class KafkaSink:
    name = "kafka"
    min_interval_seconds = 0.0

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

    async def close(self) -> None:
        return None
