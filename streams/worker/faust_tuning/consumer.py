"""faust's aiokafka transport with a drain loop that races flow suspension once per fetched batch.

Mirrors `faust.transport.consumer.Consumer._drain_messages` of faust-streaming 0.15.3; diff the two. Upstream
awaits `wait_first(callback(message), suspend_flow.wait())` for every message: a task, three waiters and an
`asyncio.wait` per message, about half of faust's per-message cost (BENCHMARKS.md). Here the messages of one
`getmany` batch are delivered by one coroutine, raced once against `suspend_flow.wait()`. It is the change to
propose upstream; until then the transport is swapped in through the App's `transport` attribute, faust's
`Transport.Consumer` class attribute choosing the consumer (`TRANCHEWATCH_BATCH_DRAIN`, default on).

What is kept, and why it is safe:
- Read offsets, gap tracking, the read-offset check that drops re-fetched messages, `broker_commit_every`,
  a yield to the loop every 100 messages, and the stop/crash handling are upstream's, line for line.
- The fetch stays outside the race, as upstream: `getmany` yields nothing once flow is stopped.
- On suspension (a rebalance or a stop; faust calls `stop_flow` only there) the batch coroutine is cancelled
  where it waits, as upstream cancels the one callback, and the rest of the batch is dropped unread, as
  upstream's `getmany` drops it once `flow_active` is false. Nothing is lost: a message's read offset is set
  only after it was delivered (upstream also sets it for the cancelled one), nothing unread was acked, and
  the partitions are revoked (read offsets, gaps and acks forgotten) and then sought to their committed
  offsets on assignment, so the dropped records are fetched again.
- The `commit_every` commit runs outside the race, so a suspension never cancels a commit half done.

A second change: once a stream's buffer is under pressure (faust's `Consumer.on_buffer_full`, called by the
conductor when a put finds the queue at `stream_buffer_maxsize / 1.25`), the drain waits, once, until the
buffer is drained (`on_buffer_drop`, which faust calls when the stream's `get` finds the queue empty) before
delivering that partition's next message. Upstream delivers on until the queue is full and then pays an
`asyncio.wait` and a task per message for the rest of the batch (the conductor's full-buffer put, a fifth of
the empty agent's time, BENCHMARKS.md). Both block the whole drain behind the full stream, as upstream's
awaited put does; a stalled agent stalls either. If the pressure never started (faust does not pause a
partition during table recovery), the conductor's own full-buffer path still applies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, ClassVar, cast

from aiokafka.errors import ConsumerStoppedError
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka
from faust.types import TP, ConsumerT, Message
from faust.types.transports import ConductorT
from mode import Service, ServiceT

from streams.worker.faust_tuning.conductor import LeanConductor
from streams.worker.faust_tuning.fetch_recovery import broker_errors, locate_failure, positions, rewind
from streams.worker.fetch_errors import UNKNOWN, FetchHealth, Partition

_YIELD_EVERY = 100
# Re-checks the buffered partitions this often while waiting for a drop, in case faust resets them (a
# restart replaces the set) without calling `on_buffer_drop`.
_BUFFER_RECHECK_SECONDS = 1.0


class TunedConsumerThread(aiokafka.AIOKafkaConsumerThread):
    """Two changes to faust's consumer thread.

    faust hard-codes the fetch long-poll at 1,500 ms. A broker that answers a fetch only when that wait
    ends, not when data arrives (Tansu, the embedded broker, does so), then holds every quote up to 1.5 s
    before the worker sees it; a real Kafka broker answers as soon as data is there, so a short wait costs
    it only idle fetches.

    A fetch or decode error (a codec without its library, a corrupt batch) raised out of faust's fetch and
    stopped the worker. Here it is caught where the records are taken from aiokafka: what the failed call
    had taken is given back (streams/worker/faust_tuning/fetch_recovery.py), the failure goes to the
    transport's FetchHealth (log, metric, /readyz; streams/worker/fetch_errors.py), and the failed
    partition is left out of the next fetches until its backoff ends, while the others flow."""

    def _create_worker_consumer(self, transport: aiokafka.Transport) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(transport, "fetch_max_wait_ms", None)
        if wait_ms is not None:
            consumer._fetch_max_wait_ms = wait_ms  # read by AIOKafkaConsumer.start() for its fetcher
        # faust reads committed only under exactly-once processing; tranchewatch by default (settings).
        consumer._isolation_level = getattr(transport, "isolation_level", consumer._isolation_level)
        return consumer

    @property
    def _health(self) -> FetchHealth:
        return cast(TunedTransport, self.transport).fetch_health

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: set[TP],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        health = self._health
        held = health.held() if health.failing else None  # no lock, no set while all is well
        if held and active_partitions:
            active_partitions = {tp for tp in active_partitions if (tp.topic, tp.partition) not in held}
            if not active_partitions:  # an empty set would mean every partition to aiokafka
                await asyncio.sleep(min(timeout or 0.0, health.next_retry_in()))
                return {}
        before, errors_before = positions(consumer), broker_errors(consumer)
        try:
            records = await super()._fetch_records(
                consumer, active_partitions, timeout=timeout, max_records=max_records
            )
        except ConsumerStoppedError:
            raise
        except Exception as exc:
            failure = locate_failure(consumer, before, errors_before, exc)
            rewind(consumer, before)
            delay = health.failed(failure)
            if failure.topic == UNKNOWN:  # nothing to hold back: pause this fetch instead of spinning
                await asyncio.sleep(min(timeout or 0.0, delay))
            return {}
        if records and health.failing:
            health.read(
                {Partition(tp.topic, tp.partition): rs[-1].offset + 1 for tp, rs in records.items() if rs}
            )
        return records

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._health.forget(revoked)
        await super().on_partitions_revoked(revoked)


class TunedConsumer(aiokafka.Consumer):
    def _new_consumer_thread(self) -> aiokafka.AIOKafkaConsumerThread:
        return TunedConsumerThread(self, loop=self.loop, beacon=self.beacon)


class FastDrainConsumer(TunedConsumer):
    _buffer_dropped: asyncio.Event | None = None

    def on_buffer_drop(self, tp: TP) -> None:
        super().on_buffer_drop(tp)
        if self._buffer_dropped is not None:
            self._buffer_dropped.set()

    async def _wait_for_room(self, tp: TP) -> None:
        """Returns once `tp`'s stream is no longer under buffer pressure (see the module's docstring)."""
        if self._buffer_dropped is None:
            self._buffer_dropped = asyncio.Event()
        dropped = self._buffer_dropped
        while tp in self._buffered_partitions:
            dropped.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(dropped.wait(), _BUFFER_RECHECK_SECONDS)

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                ait = cast(AsyncGenerator[tuple[TP, Message], None], getmany(timeout=1.0))

                # Sleeping because sometimes getmany is called in a loop
                # never releasing to the event loop
                await self.sleep(0)
                if not self.should_stop:
                    # The change from upstream: one race per batch (per commit_every), not per message.
                    pending = await anext(ait, None)
                    while pending is not None:
                        deliver = self._deliver(pending, ait)
                        results = await self.wait_first(deliver, self.suspend_flow.wait())
                        if deliver not in results.done or self.suspend_flow.is_set():
                            break  # suspended or stopped: what is left of the batch is fetched again
                        pending = results.results[results.done.index(deliver)]
                        if pending is not None:  # commit_every reached
                            self._n_acked = 0
                            await self.commit()
                    await ait.aclose()
                    unset_flag(CONSUMER_FETCHING)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)

    async def _deliver(
        self, first: tuple[TP, Message], ait: AsyncIterator[tuple[TP, Message]]
    ) -> tuple[TP, Message] | None:
        """Delivers `first` and the rest of the batch; returns the next message when a commit is due."""
        callback = self.callback
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        sleep = asyncio.sleep
        buffered = self._buffered_partitions
        num_since_yield = 0
        item: tuple[TP, Message] | None = first
        while item is not None:
            tp, message = item
            num_since_yield += 1
            if num_since_yield > _YIELD_EVERY:
                await sleep(0)
                num_since_yield = 0

            offset = message.offset
            r_offset = get_read_offset(tp)
            if r_offset is None or offset >= r_offset:
                gap = offset - (r_offset or 0)
                # We have a gap in income messages
                if gap > 1 and r_offset:
                    acks_enabled = acks_enabled_for(message.topic)
                    if acks_enabled:
                        await self._add_gap(tp, r_offset + 1, offset)
                if commit_every is not None and self._n_acked >= commit_every:
                    return item  # committed by the caller, outside the race
                if tp in buffered:
                    await self._wait_for_room(tp)
                await callback(message)
                set_read_offset(tp, offset)
            else:
                self.log.dev(
                    "DROPPED MESSAGE ROFF %r: k=%r v=%r",
                    offset,
                    message.key,
                    message.value,
                )
            item = await anext(ait, None)
        return None


class TunedTransport(aiokafka.Transport):
    Consumer: ClassVar[type[ConsumerT]] = TunedConsumer
    fetch_max_wait_ms: int | None = None
    fetch_health: FetchHealth
    isolation_level: str = "read_committed"


class BatchDrainTransport(TunedTransport):
    Consumer: ClassVar[type[ConsumerT]] = FastDrainConsumer


class LeanConductorTransport(TunedTransport):
    # The conductor's per-message path, trimmed (streams/worker/faust_tuning/conductor.py); read by faust's
    # `Transport.create_conductor` when `app.topics` is first built.
    Conductor: ClassVar[type[ConductorT]] = LeanConductor


class TunedBothTransport(BatchDrainTransport, LeanConductorTransport):
    pass


_TRANSPORTS: dict[tuple[bool, bool], type[TunedTransport]] = {
    (False, False): TunedTransport,
    (True, False): BatchDrainTransport,
    (False, True): LeanConductorTransport,
    (True, True): TunedBothTransport,
}


def use_tuned_consumer(
    app: Any,
    *,
    batch_drain: bool,
    lean_conductor: bool,
    fetch_max_wait_ms: int | None,
    fetch_health: FetchHealth | None = None,
    isolation_level: str = "read_committed",
) -> None:
    """Makes `app` consume through tranchewatch's consumer; call right after the App is built, before its
    agents. The two switches are independent (TRANCHEWATCH_BATCH_DRAIN, TRANCHEWATCH_LEAN_CONDUCTOR);
    `fetch_max_wait_ms` None keeps faust's 1,500 ms; `fetch_health` (default: one of its own) is told about
    records that cannot be fetched or decoded; `isolation_level` is aiokafka's."""
    transport = _TRANSPORTS[batch_drain, lean_conductor](app.conf.broker_consumer, app)
    transport.fetch_max_wait_ms = fetch_max_wait_ms
    transport.fetch_health = fetch_health or FetchHealth()
    transport.isolation_level = isolation_level
    app.transport = transport
