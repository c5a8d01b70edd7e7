"""Drains the outbox into each sink: retries with exponential backoff, honours Retry-After, paces sends,
records permanent failures instead of retrying them forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from redis.exceptions import RedisError

from alerts.exceptions import Permanent, Retryable
from alerts.metrics import AlertMetrics
from alerts.model import Alert
from alerts.notify import Sink
from alerts.outbox import Outbox

log = logging.getLogger(__name__)
LEASE_MS = 15_000


class Sender:
    def __init__(
        self,
        outbox: Outbox,
        sinks: list[Sink],
        metrics: AlertMetrics,
        *,
        retry_base_seconds: float = 0.5,
        retry_max_seconds: float = 60.0,
        block_ms: int = 500,
    ) -> None:
        self.outbox = outbox
        self.sinks = sinks
        self.metrics = metrics
        self.retry_base = retry_base_seconds
        self.retry_max = retry_max_seconds
        self.block_ms = block_ms
        self.owner = uuid.uuid4().hex
        self._last_sent: dict[str, float] = {}
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        try:
            await asyncio.gather(*(self._drain(sink) for sink in self.sinks))
        finally:
            for sink in self.sinks:
                with contextlib.suppress(RedisError):  # the lease lapses on its own
                    await self.outbox.release_lease(sink.name, self.owner)

    def stop(self) -> None:
        self._stopping.set()

    async def _drain(self, sink: Sink) -> None:
        while not self._stopping.is_set():
            try:
                if not await self.outbox.hold_lease(sink.name, self.owner, LEASE_MS):
                    await self._sleep(1.0)  # another worker sends for this sink
                    continue
                batch = await self.outbox.pending(sink.name)
                if not batch:
                    await self.outbox.wait_for_new(sink.name, self.block_ms)
                    continue
                for entry_id, alert in batch:
                    if not await self._deliver(sink, alert):
                        return  # stopping mid-retry: the cursor stays, the notice goes out after restart
                    await self.outbox.confirm(sink.name, entry_id)
                    await self.outbox.hold_lease(sink.name, self.owner, LEASE_MS)
                await self.outbox.trim([s.name for s in self.sinks])
            except RedisError as exc:
                log.warning("outbox for %s: redis unavailable (%s); retrying", sink.name, exc)
                await self._sleep(1.0)

    async def _deliver(self, sink: Sink, alert: Alert) -> bool:
        """True once delivered or permanently refused; False if stopped before either."""
        attempt = 0
        while not self._stopping.is_set():
            await self._pace(sink)
            try:
                await sink.send(alert)
            except Retryable as exc:
                attempt += 1
                delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempt)
                self.metrics.notifications.labels(sink.name, "retried").inc()
                log.warning(
                    "%s: notice %s seq %d not delivered (%s); retry in %.1fs",
                    sink.name,
                    alert.fingerprint,
                    alert.seq,
                    exc,
                    delay,
                )
                await self._sleep(delay)
                continue
            except Permanent as exc:
                self.metrics.notifications.labels(sink.name, "failed").inc()
                log.error(
                    "%s: notice %s seq %d refused for good: %s", sink.name, alert.fingerprint, alert.seq, exc
                )
                await self.outbox.record_failure(sink.name, alert, str(exc))
                return True
            self.metrics.notifications.labels(sink.name, "sent").inc()
            return True
        return False

    def _backoff(self, attempt: int) -> float:
        return float(min(self.retry_max, self.retry_base * 2 ** (attempt - 1)))

    async def _pace(self, sink: Sink) -> None:
        wait = self._last_sent.get(sink.name, 0.0) + sink.min_interval_seconds - time.monotonic()
        if wait > 0:
            await self._sleep(wait)
        self._last_sent[sink.name] = time.monotonic()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def refresh_metrics(self) -> None:
        for sink in self.sinks:
            depth, age = await self.outbox.backlog(sink.name)
            self.metrics.outbox_depth.labels(sink.name).set(depth)
            self.metrics.outbox_oldest_age.labels(sink.name).set(age)
