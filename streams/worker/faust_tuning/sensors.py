"""A faust Monitor that keeps only what tranchewatch reads: each message's arrival time.

faust's Monitor does per-event bookkeeping (counters by topic, stream and task, a dict per event, runtimes
in a deque) for its `/stats` page, which tranchewatch does not serve; its own metrics are in streams.metrics.
The arrival stamp (`message.time_in`) is kept: tranchewatch_processing_seconds is measured from it.
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from faust.sensors import Monitor


class LeanMonitor(Monitor):
    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        message.time_in = monotonic()

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> dict[str, Any] | None:
        return None

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: dict[str, Any] | None = None
    ) -> None:
        return None

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        return None
