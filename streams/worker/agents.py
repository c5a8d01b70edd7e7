"""One faust agent per input topic. Values arrive as raw bytes and are parsed inside, so a bad message
becomes a dead letter instead of an exception that would crash the agent."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import faust

from streams.ingest.deadletter import Envelope
from streams.kafka.topics import INPUT_TOPICS
from streams.settings import Settings

BatchHandle = Callable[[list[Envelope]], Awaitable[object]]


class RawBytesSchema(faust.Schema[bytes, bytes]):
    """Raw bytes in, the event made directly: what faust's raw codec yields, without its per-message lookups.

    faust's compiled decode sends the key and the value through the serializer registry and the raw codec
    (which return the bytes unchanged) and looks the Event class up in the app's settings, per message; that
    was a tenth of the empty agent's time (BENCHMARKS.md). The agents parse the bytes themselves.
    """

    def __init__(self) -> None:
        super().__init__(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    def compile(self, app: Any, **kwargs: Any) -> Any:
        event_class = app.conf.Event

        async def decode(message: Any, *, propagate: bool = False) -> Any:
            return event_class(app, message.key, message.value, message.headers, message)

        return decode


def _envelope(event: Any) -> Envelope:
    message = event.message
    arrived = message.time_in if message.time_in is not None else time.monotonic()
    # faust gives the record's timestamp in seconds; a record without one carries -1 ms, read as unknown.
    stamp = message.timestamp if message.timestamp is not None and message.timestamp > 0 else None
    return Envelope(
        message.topic, message.partition, message.offset, message.key, message.value, arrived, stamp
    )


def ack_all(stream: Any, events: list[Any]) -> None:
    """Acknowledges `events` as `await stream.ack(event)` does for each, without a coroutine per event.

    Mirrors `faust.Stream.ack` of faust-streaming 0.15.3, which is synchronous inside its `async def`: the
    event's message is decref'd (`Message.ack`, under faust's `ack_lock`), the consumer records the offset
    when the count reaches zero (`Consumer.ack`: acked offsets, gaps, `commit_every`), and the sensors see the
    event leave the stream. One coroutine per event was 8% of the empty agent (BENCHMARKS.md). A stream
    class that overrides `ack` is acknowledged through it, one event at a time.
    """
    on_stream_event_out = stream._on_stream_event_out
    on_message_out = stream._on_message_out
    for event in events:
        last_stream_to_ack = event.ack()
        message = event.message
        tp = message.tp
        offset = message.offset
        on_stream_event_out(tp, offset, stream, event)
        if last_stream_to_ack:
            on_message_out(tp, offset, message)


def _acks_synchronously(stream: Any) -> bool:
    return getattr(type(stream), "ack", None) is faust.Stream.ack


def _agent_for(settings: Settings, handle: BatchHandle) -> Callable[[Any], Coroutine[Any, Any, None]]:
    async def handle_topic(stream: Any) -> None:
        # noack_take: offsets are acknowledged only after the batch's state, outbox and dead letters are
        # stored, so a crash or a Redis outage replays the batch rather than losing it.
        batches: AsyncIterator[list[Any]] = stream.noack_take(
            settings.batch_size, within=settings.batch_within_seconds
        )
        synchronous_ack = _acks_synchronously(stream)
        async for events in batches:
            await handle([_envelope(e) for e in events])
            if synchronous_ack:
                ack_all(stream, events)
            else:
                for event in events:
                    await stream.ack(event)

    return handle_topic


def register_agents(app: faust.App, settings: Settings, handle: BatchHandle) -> None:
    for name in INPUT_TOPICS:
        topic = app.topic(name, schema=RawBytesSchema())
        # concurrency=1: a higher value can commit an offset past an event still in flight.
        app.agent(topic, name=f"tranchewatch.{name}", concurrency=1)(_agent_for(settings, handle))
