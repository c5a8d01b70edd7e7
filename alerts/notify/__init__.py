"""One module per sink. A sink delivers one notice, or a group as one message, or raises Retryable /
Permanent. `name` is the kind of sink (slack, kafka, log), the bounded label of the metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from alerts.model import Alert


class Sink(Protocol):
    name: str
    min_interval_seconds: float

    async def send(self, alert: Alert) -> None: ...

    async def notify(self, alerts: Sequence[Alert], title: str) -> None: ...

    async def close(self) -> None: ...


async def send_each(sink: Sink, alerts: Sequence[Alert]) -> None:
    """For sinks with no notion of a grouped message: one record per notice."""
    for alert in alerts:
        await sink.send(alert)
