"""Drains the outbox into each receiver through the notification pipeline: retries with exponential backoff,
honours Retry-After, paces sends, records permanent failures instead of retrying them forever.

Per receiver: read a batch after its cursor → plan it (route, mutes, nflog, groups) → send each group, then
write the nflog → confirm the cursor past the batch. A restart anywhere re-reads the batch, and the nflog
skips what already went out, so a notice is sent once across restarts and outages. A batch sink (the Kafka
topic) gets the whole planned batch in one call and itself skips what it finds already published.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from redis.exceptions import RedisError

from alerts.core.model import Alert
from alerts.delivery.digest import DigestBook, DigestSink, due_day, parse_time_of_day
from alerts.delivery.digest import title as digest_title
from alerts.delivery.nflog import NotificationLog
from alerts.delivery.outbox import Outbox
from alerts.delivery.pipeline import NotifyPipeline
from alerts.exceptions import Permanent, Retryable
from alerts.metrics import AlertMetrics
from alerts.mute.ack import AckStore
from alerts.mute.inhibit import Inhibitor
from alerts.mute.silence import SilenceStore
from alerts.notify import BatchSink, RefreshingSink, Sink
from alerts.routing.group import Group
from alerts.routing.routes import RoutingConfig

log = logging.getLogger(__name__)
LEASE_MS = 15_000
# Mid-batch, the lease is renewed once this much has passed since it was last held, not after every group
# (a round trip per notice). Until then at least two thirds of it remain: it cannot have lapsed, so no
# other worker can hold it, and a group that took long (an outage's retries) is still followed by a check.
LEASE_RECHECK_SECONDS = LEASE_MS / 3 / 1000
GROUPED_READ = 100  # notices a sink that sends group by group reads at once; a batch sink reads batch_size


def default_pipeline(outbox: Outbox, receivers: Sequence[str]) -> NotifyPipeline:
    """Every receiver gets every notice, ungrouped and uninhibited; silences and acks still apply."""
    routing = RoutingConfig.model_validate(
        {
            "receivers": {name: {"type": "log"} for name in receivers},
            "routes": [{"receiver": name, "continue": True} for name in receivers],
            "inhibit": [],
        }
    )
    redis, prefix = outbox.redis, outbox.keys.prefix
    return NotifyPipeline(
        routing,
        NotificationLog(redis, prefix),
        Inhibitor(redis, prefix, []),
        SilenceStore(redis, prefix),
        AckStore(redis, prefix),
    )


class Sender:
    def __init__(
        self,
        outbox: Outbox,
        sinks: Mapping[str, Sink] | Sequence[Sink],
        metrics: AlertMetrics,
        *,
        pipeline: NotifyPipeline | None = None,
        retry_base_seconds: float = 0.5,
        retry_max_seconds: float = 60.0,
        block_ms: int = 500,
        digest_check_seconds: float = 30.0,
        batch_size: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.receivers: dict[str, Sink] = (
            dict(sinks) if isinstance(sinks, Mapping) else {s.name: s for s in sinks}
        )
        self.pipeline = pipeline or default_pipeline(outbox, list(self.receivers))
        self.metrics = metrics
        self.retry_base = retry_base_seconds
        self.retry_max = retry_max_seconds
        self.block_ms = block_ms
        self.batch_size = batch_size
        self._leased: set[str] = set()
        self._clock = clock
        self._held_at: dict[str, float] = {}  # by receiver: when the lease was last asked for and held
        self.owner = uuid.uuid4().hex
        self._last_sent: dict[str, float] = {}
        self._refresh_due: dict[str, float] = {}  # by receiver, on self._clock
        self._stopping = asyncio.Event()
        self.digests = DigestBook(outbox.redis, outbox.keys.prefix)
        self.digest_check_seconds = digest_check_seconds

    async def run(self) -> None:
        digests = [
            self._digest_loop(name, sink) for name, sink in self.receivers.items() if self._digest_at(name)
        ]
        try:
            await asyncio.gather(
                *(self._drain(name, sink) for name, sink in self.receivers.items()), *digests
            )
        finally:
            for name in self.receivers:
                with contextlib.suppress(RedisError):  # the lease lapses on its own
                    await self.outbox.release_lease(name, self.owner)

    def stop(self) -> None:
        self._stopping.set()

    async def _drain(self, name: str, sink: Sink) -> None:
        while not self._stopping.is_set():
            try:
                if not await self._hold_lease(name):
                    await self._sleep(1.0)  # another worker sends for this receiver
                    continue
                if name not in self._leased:
                    self._leased.add(name)
                    if isinstance(sink, BatchSink):
                        sink.resync()  # the previous holder may have sent what it never logged
                if isinstance(sink, RefreshingSink):
                    await self._refresh_if_due(name, sink)
                batch = await self.outbox.pending(name, self._read_size(sink))
                if not batch:
                    await self.outbox.wait_for_new(name, self.block_ms)
                    continue
                wait = self.pipeline.group_wait_seconds(name) - _age_seconds(batch[0][0])
                if wait > 0:
                    await self._sleep(min(wait, 5.0))  # let the rest of a storm arrive, then group it
                    continue
                if not await self._send_batch(name, sink, batch):
                    return  # stopping mid-retry: the cursor stays, the nflog skips what went out
                await self.outbox.trim(list(self.receivers))
            except RedisError as exc:
                log.warning("outbox for %s: redis unavailable (%s); retrying", name, exc)
                await self._sleep(1.0)

    async def _send_batch(self, name: str, sink: Sink, batch: Sequence[tuple[str, Alert]]) -> bool:
        plan = await self.pipeline.plan(name, batch)
        for alert, reason in plan.muted:
            self.metrics.notifications.labels(sink.name, "muted").inc()
            log.info("%s: notice %s seq %d muted: %s", name, alert.fingerprint, alert.seq, reason)
        if plan.already_sent:
            log.info("%s: %d notices already sent before a restart; skipped", name, plan.already_sent)
        if self._digest_at(name):
            # Held for the day's digest; the nflog entry makes a re-read batch skip them as if sent.
            held = [alert for group in plan.groups for alert in group.alerts]
            await self.digests.hold(name, held)
            await self.pipeline.nflog.record(name, held)
            await self.outbox.confirm(name, batch[-1][0])
            return True
        groups = plan.groups
        if isinstance(sink, BatchSink) and len(groups) > 1:
            groups = [Group(("batch",), [entry for group in groups for entry in group.entries])]
        for group in groups:
            if not await self._deliver(name, sink, group):
                return False
            recent = self._clock() - self._held_at.get(name, -math.inf) < LEASE_RECHECK_SECONDS
            if not recent and not await self._hold_lease(name):
                # Lapsed mid-batch (a long outage): another worker now sends from the cursor, and the
                # nflog makes it skip what went out here. Sending on would race it.
                log.warning("%s: lease lost mid-batch; leaving the rest to its new holder", name)
                return True
        await self.outbox.confirm(name, batch[-1][0])
        return True

    async def _hold_lease(self, name: str) -> bool:
        asked = self._clock()  # before the round trip: the lease runs at least LEASE_MS from here
        if await self.outbox.hold_lease(name, self.owner, LEASE_MS):
            self._held_at[name] = asked
            return True
        self._leased.discard(name)
        self._held_at.pop(name, None)
        self._refresh_due.pop(name, None)  # whoever holds it now refreshes; on taking it back, at once
        return False

    async def _deliver(self, name: str, sink: Sink, group: Group) -> bool:
        """True once delivered (and logged in the nflog) or permanently refused; False if stopped first."""
        attempt = 0
        first = group.alerts[0]
        while not self._stopping.is_set():
            await self._pace(name, sink)
            try:
                await sink.notify(group.alerts, group.title)
            except Retryable as exc:
                attempt += 1
                delay = exc.retry_after if exc.retry_after is not None else self._backoff(attempt)
                self.metrics.notifications.labels(sink.name, "retried").inc()
                log.warning(
                    "%s: notice %s seq %d (+%d) not delivered (%s); retry in %.1fs",
                    name,
                    first.fingerprint,
                    first.seq,
                    len(group.alerts) - 1,
                    exc,
                    delay,
                )
                await self._sleep(delay)
                continue
            except Permanent as exc:
                self.metrics.notifications.labels(sink.name, "failed").inc(len(group.alerts))
                log.error(
                    "%s: notice %s seq %d refused for good: %s", name, first.fingerprint, first.seq, exc
                )
                for alert in group.alerts:
                    await self.outbox.record_failure(name, alert, str(exc))
                return True
            self.metrics.notifications.labels(sink.name, "sent").inc(len(group.alerts))
            return await self._log_sent(name, group)
        return False

    async def _log_sent(self, name: str, group: Group) -> bool:
        """Writes the nflog for a delivered group, waiting out a Redis outage: going back to the outbox
        instead would find no nflog entry and send the group again. False if stopped first."""
        while not self._stopping.is_set():
            try:
                await self.pipeline.nflog.record(name, group.alerts)
                return True
            except RedisError as exc:
                log.warning("%s: cannot log a delivered notice in the nflog (%s); retrying", name, exc)
                await self._sleep(1.0)
        return False

    async def _refresh_if_due(self, name: str, sink: RefreshingSink) -> None:
        """Due at once on taking the lease (a restart re-sends what fires), then every refresh_seconds. A
        failed refresh is not retried sooner: the receiver keeps what it has for several intervals."""
        now = self._clock()
        if now < self._refresh_due.get(name, -math.inf):
            return
        self._refresh_due[name] = now + sink.refresh_seconds
        try:
            count = await sink.refresh()
        except (Retryable, Permanent) as exc:
            self.metrics.notifications.labels(sink.name, "retried").inc()
            log.warning(
                "%s: re-sending what fires failed (%s); next in %.0fs", name, exc, sink.refresh_seconds
            )
            return
        self.metrics.notifications.labels(sink.name, "reposted").inc(count)

    def _read_size(self, sink: Sink) -> int:
        # A batch sink's read-back covers its largest batch, so no batch may be larger.
        return min(self.batch_size, sink.max_batch) if isinstance(sink, BatchSink) else GROUPED_READ

    def _digest_at(self, name: str) -> dt.time | None:
        value = getattr(self.pipeline.routing.receivers.get(name), "digest_at", None)
        return parse_time_of_day(value) if value else None

    async def _digest_loop(self, name: str, sink: Sink) -> None:
        at = self._digest_at(name)
        assert at is not None
        while not self._stopping.is_set():
            try:
                await self.send_digest_if_due(name, sink, at)
            except RedisError as exc:
                log.warning("digest for %s: redis unavailable (%s); retrying", name, exc)
            await self._sleep(self.digest_check_seconds)

    async def send_digest_if_due(self, name: str, sink: Sink, at: dt.time) -> bool:
        """Sends the day's digest once, after `at` China time; True if one went out."""
        day = due_day(self.pipeline.clock(), at)
        if day is None or not isinstance(sink, DigestSink):
            return False
        pending = await self.digests.pending(name, day)
        if pending is None:
            return False
        alerts, held = pending
        if not held:
            return False  # nothing yet today: a notice held later still goes out in today's digest
        if not await self._deliver_digest(name, sink, digest_title(day, alerts, held), alerts):
            return False
        await self.digests.mark_sent(name, day, held)
        return True

    async def _deliver_digest(self, name: str, sink: DigestSink, title: str, alerts: list[Alert]) -> bool:
        attempt = 0
        while not self._stopping.is_set():
            try:
                await sink.digest(title, alerts)
                self.metrics.notifications.labels(name, "sent").inc()
                return True
            except Retryable as exc:
                attempt += 1
                self.metrics.notifications.labels(name, "retried").inc()
                await self._sleep(exc.retry_after if exc.retry_after is not None else self._backoff(attempt))
            except Permanent as exc:
                self.metrics.notifications.labels(name, "failed").inc()
                log.error("%s: daily digest refused for good: %s", name, exc)
                return True
        return False

    def _backoff(self, attempt: int) -> float:
        return float(min(self.retry_max, self.retry_base * 2 ** (attempt - 1)))

    async def _pace(self, name: str, sink: Sink) -> None:
        wait = self._last_sent.get(name, 0.0) + sink.min_interval_seconds - time.monotonic()
        if wait > 0:
            await self._sleep(wait)
        self._last_sent[name] = time.monotonic()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def refresh_metrics(self) -> None:
        for name in self.receivers:
            depth, age = await self.outbox.backlog(name)
            self.metrics.outbox_depth.labels(name).set(depth)
            self.metrics.outbox_oldest_age.labels(name).set(age)


def _age_seconds(entry_id: str) -> float:
    return max(0.0, time.time() - int(entry_id.split("-")[0]) / 1000)
