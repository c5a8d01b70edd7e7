"""One module per sink. A sink delivers one notice or raises Retryable / Permanent."""

from __future__ import annotations

from typing import Protocol

from alerts.model import Alert


class Sink(Protocol):
    name: str
    min_interval_seconds: float

    async def send(self, alert: Alert) -> None: ...

    async def close(self) -> None: ...
