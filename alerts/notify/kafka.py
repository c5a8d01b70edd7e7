"""The `abs.alerts` topic, keyed by fingerprint, through whatever publisher the runtime hands in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from alerts.exceptions import Retryable
from alerts.model import Alert
from alerts.notify import send_each


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

    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        await send_each(self, alerts)  # one record per notice, keyed by fingerprint: the wire contract

    async def close(self) -> None:
        return None
