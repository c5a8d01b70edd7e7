"""One module per sink. A sink delivers a group of notices (often one) as one message, or raises Retryable /
Permanent. `name` is the kind of sink (slack, kafka, log, alertmanager), the bounded label of the metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from alerts.core.model import Alert


class Sink(Protocol):
    name: str
    min_interval_seconds: float

    async def notify(self, alerts: Sequence[Alert], title: str) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class BatchSink(Sink, Protocol):
    """A sink that takes a whole batch of notices in one call (the Kafka topic). It can tell which notices
    already went out, and needs telling when someone else may have sent since its last call."""

    max_batch: int

    def resync(self) -> None: ...


@runtime_checkable
class RefreshingSink(Sink, Protocol):
    """A sink whose receiver forgets what it is not told again: Alertmanager lets a firing alert lapse
    unless it is re-posted. The sender calls refresh() every refresh_seconds while it holds the receiver's
    lease, in the same loop as its sends, so a refresh never races a resolution."""

    refresh_seconds: float

    async def refresh(self) -> int:
        """Re-sends what is still firing; returns how many alerts it re-sent."""
        ...
