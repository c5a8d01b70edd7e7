"""One faust agent per input topic. Values arrive as raw bytes and are parsed inside, so a bad message
becomes a dead letter instead of an exception that would crash the agent."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import faust

from streams.deadletter import Envelope
from streams.settings import Settings
from streams.topics import INPUT_TOPICS

BatchHandle = Callable[[list[Envelope]], Awaitable[object]]


def _envelope(event: Any) -> Envelope:
    message = event.message
    arrived = message.time_in if message.time_in is not None else time.monotonic()
    return Envelope(message.topic, message.partition, message.offset, message.key, message.value, arrived)


def _agent_for(settings: Settings, handle: BatchHandle) -> Callable[[Any], Coroutine[Any, Any, None]]:
    async def handle_topic(stream: Any) -> None:
        # noack_take: offsets are acknowledged only after the batch's state, outbox and dead letters are
        # stored, so a crash or a Redis outage replays the batch rather than losing it.
        batches: AsyncIterator[list[Any]] = stream.noack_take(
            settings.batch_size, within=settings.batch_within_seconds
        )
        async for events in batches:
            await handle([_envelope(e) for e in events])
            for event in events:
                await stream.ack(event)

    return handle_topic


def register_agents(app: faust.App, settings: Settings, handle: BatchHandle) -> None:
    for name in INPUT_TOPICS:
        topic = app.topic(
            name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
        )
        # concurrency=1: a higher value can commit an offset past an event still in flight.
        app.agent(topic, name=f"tranchewatch.{name}", concurrency=1)(_agent_for(settings, handle))
