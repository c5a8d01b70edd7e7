"""faust's conductor with a leaner per-message path for tranchewatch's raw-bytes input topics.

Mirrors `faust.transport.conductor.Conductor` and its compiled `ConductorHandler`
(`faust/transport/_cython/conductor.pyx`) of faust-streaming 0.15.3; diff the two. The conductor hands each
fetched message to the streams of its partition. Upstream, per message: the dispatcher takes an
`asyncio.Lock` (`async with`, two coroutines), then the handler awaits `FlowControlEvent.acquire()` and
`ProducerBuffer.wait_until_ebb()` (a settings lookup through `ProducerBuffer.size`) even when neither waits,
and awaits the channel's decode coroutine. Together about a quarter of the empty agent's main thread
(BENCHMARKS.md). Here each of those is a synchronous check that awaits only when upstream would wait:

- the dispatcher reads the partition's handler without the lock while nobody holds it; the lock guards the
  map while `_update_indices` rebuilds it, and a synchronous read in between cannot see it half done;
- flow control (suspended during a rebalance) is awaited only when suspended, as `acquire` does;
- the producer buffer is awaited only when it is over `max_messages`, as `wait_until_ebb` does; its size
  (`pending.qsize()` without `producer_threaded`) is the same count `ProducerBuffer.size` returns;
- a partition whose only subscriber is a `RawBytesSchema` channel (tranchewatch's agents) gets its event
  built in place, as that schema's decode does (it never raises, so there is no decode error to route);
  any other partition is handled by upstream's handler, unchanged.

The put is upstream's: the message's reference count is raised first, the event goes in with
`put_nowait_enhanced` and the same pressure callbacks (`Consumer.on_buffer_full`/`on_buffer_drop`), and a
full queue is counted by the sensor and awaited with `Channel.put`. Installed through `Transport.Conductor`,
the class attribute faust's `Transport.create_conductor` builds `app.topics` from (`streams/worker/faust_tuning/consumer.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableSet
from typing import Any

from faust.transport.conductor import Conductor
from faust.types import TP, Message

from streams.worker.agents import RawBytesSchema

Handler = Callable[[Message], Awaitable[None]]


def _raw_channel(channels: MutableSet[Any]) -> Any | None:
    """The one channel of a partition when it is a raw-bytes one, else None (upstream's handler applies)."""
    if len(channels) != 1:
        return None
    (channel,) = channels
    return channel if isinstance(getattr(channel, "schema", None), RawBytesSchema) else None


class LeanConductor(Conductor):
    def _compile_message_handler(self) -> Handler:
        if self.app.client_only:
            return super()._compile_message_handler()
        get_callback_for_tp = self._tp_to_callback.__getitem__
        lock = self._tp_to_callback_lock

        async def on_message(message: Message) -> None:
            if lock.locked():
                async with lock:
                    callback = get_callback_for_tp(message.tp)
            else:
                callback = get_callback_for_tp(message.tp)
            return await callback(message)  # type: ignore[no-any-return]

        return on_message

    def _build_handler(self, tp: TP, channels: MutableSet[Any]) -> Handler:
        channel = _raw_channel(channels)
        if channel is None:
            return super()._build_handler(tp, channels)
        return _raw_handler(self.app, tp, channel)


def _raw_handler(app: Any, tp: TP, channel: Any) -> Handler:
    flow_control = app.flow_control
    flow_active = flow_control.is_active
    acquire_flow_control = flow_control.acquire
    producer_buffer = app.producer.buffer
    wait_until_producer_ebb = producer_buffer.wait_until_ebb
    # `ProducerBuffer.size` reads this setting on every call; it does not change while the app runs.
    threaded = bool(app.conf.producer_threaded)
    pending_size = producer_buffer.pending.qsize
    event_class = app.conf.Event
    on_topic_buffer_full = app.sensors.on_topic_buffer_full
    consumer_on_buffer_full = app.consumer.on_buffer_full
    consumer_on_buffer_drop = app.consumer.on_buffer_drop

    def on_pressure_high() -> None:
        on_topic_buffer_full(tp)
        consumer_on_buffer_full(tp)

    def on_pressure_drop() -> None:
        consumer_on_buffer_drop(tp)

    async def on_message(message: Message) -> None:
        if not flow_active():
            await acquire_flow_control()
        backlog = producer_buffer.size if threaded else pending_size()
        if backlog > producer_buffer.max_messages:
            await wait_until_producer_ebb()
        # message.incref(1) without its ack_lock, as the compiled handler does: nothing can ack the message
        # before its event is in the queue.
        message.refcount += 1
        event = event_class(app, message.key, message.value, message.headers, message)
        queue = channel.queue
        if queue.full():
            on_topic_buffer_full(tp)
            await channel.put(event)
        else:
            queue.put_nowait_enhanced(
                event, on_pressure_high=on_pressure_high, on_pressure_drop=on_pressure_drop
            )

    return on_message
