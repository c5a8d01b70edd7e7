"""The fast drain loop (streams/worker/faust_tuning/consumer.py) and the raw-bytes schema, without a broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import faust
from faust.types import TP
from faust.types.tuples import ConsumerMessage
from mode import Service

from streams.settings import Settings
from streams.worker.agents import RawBytesSchema, ack_all
from streams.worker.app import new_app
from streams.worker.faust_tuning.consumer import FastDrainConsumer

TP0 = TP("bond.quotes", 0)


class Fetcher(Service):
    pass


def _consumer(batch_drain: bool = True, lean_conductor: bool = True) -> Any:
    settings = Settings(batch_drain=batch_drain, lean_conductor=lean_conductor, kafka_bootstrap="127.0.0.1:1")
    return new_app(settings, web_enabled=False).consumer


def _messages(offsets: range) -> list[tuple[TP, Any]]:
    return [(TP0, SimpleNamespace(offset=o, topic=TP0.topic, key=None, value=b"{}")) for o in offsets]


def _fetch_once(consumer: Any, batch: list[tuple[TP, Any]]) -> None:
    """getmany returns `batch` once, then stops the consumer (as a worker's shutdown would)."""
    calls = 0

    async def getmany(timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        nonlocal calls
        calls += 1
        if calls > 1:
            consumer._stopped.set()
            return
        for item in batch:
            yield item

    consumer.getmany = getmany


def test_the_setting_chooses_the_consumer() -> None:
    for lean_conductor in (True, False):
        assert isinstance(_consumer(True, lean_conductor), FastDrainConsumer)
        assert not isinstance(_consumer(False, lean_conductor), FastDrainConsumer)


async def test_a_batch_is_delivered_in_order_and_read_offsets_follow() -> None:
    consumer = _consumer()
    delivered: list[int] = []

    async def callback(message: Any) -> None:
        delivered.append(message.offset)

    consumer.callback = callback
    _fetch_once(consumer, _messages(range(250)))  # more than the 100 between yields to the loop
    await asyncio.wait_for(consumer._drain_messages(Fetcher()), 5)
    assert delivered == list(range(250))
    assert consumer._read_offset[TP0] == 249


async def test_messages_behind_the_read_offset_are_dropped() -> None:
    consumer = _consumer()
    consumer._read_offset[TP0] = 5
    delivered: list[int] = []

    async def callback(message: Any) -> None:
        delivered.append(message.offset)

    consumer.callback = callback
    _fetch_once(consumer, _messages(range(8)))
    await asyncio.wait_for(consumer._drain_messages(Fetcher()), 5)
    assert delivered == [5, 6, 7]


async def test_suspension_cancels_the_batch_and_leaves_the_rest_unread() -> None:
    consumer = _consumer()
    delivered: list[int] = []

    async def callback(message: Any) -> None:
        delivered.append(message.offset)
        if message.offset == 2:  # the stream buffer is full when a rebalance starts
            consumer.stop_flow()
            await asyncio.Event().wait()

    consumer.callback = callback
    _fetch_once(consumer, _messages(range(6)))
    await asyncio.wait_for(consumer._drain_messages(Fetcher()), 5)
    assert delivered == [0, 1, 2]
    # 2 was never handed over: its read offset stays behind it, so it is read again after the rebalance.
    assert consumer._read_offset[TP0] == 1


async def test_commit_every_commits_outside_the_race_and_goes_on() -> None:
    consumer = _consumer()
    consumer._commit_every = 3
    commits: list[int] = []
    delivered: list[int] = []

    async def callback(message: Any) -> None:
        delivered.append(message.offset)
        consumer._n_acked += 1  # as if the agent acknowledged it at once

    async def commit(*args: Any, **kwargs: Any) -> bool:
        commits.append(len(delivered))
        return True

    consumer.callback = callback
    consumer.commit = commit
    _fetch_once(consumer, _messages(range(7)))
    await asyncio.wait_for(consumer._drain_messages(Fetcher()), 5)
    assert delivered == list(range(7))
    assert commits == [3, 6]


async def test_raw_bytes_schema_decodes_like_fausts_raw_codec() -> None:
    app = faust.App("test-raw-schema", broker="kafka://127.0.0.1:1", store="memory://")
    message: Any = SimpleNamespace(key=b"WHBUS-2025-A", value=b'{"price": 95.0}', headers={}, offset=3)
    ours = await RawBytesSchema().compile(app)(message)
    theirs = await faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    ).compile(app)(message)
    assert (ours.key, ours.value, ours.message) == (theirs.key, theirs.value, theirs.message)
    assert type(ours) is type(theirs)


async def test_the_fetch_long_poll_follows_the_setting() -> None:
    def wait_ms(setting: int | None, batch_drain: bool) -> int:
        settings = Settings(fetch_max_wait_ms=setting, batch_drain=batch_drain, kafka_bootstrap="127.0.0.1:1")
        consumer: Any = new_app(settings, web_enabled=False).consumer
        client = consumer._thread._create_worker_consumer(consumer.transport)
        return int(client._fetch_max_wait_ms)

    for batch_drain in (True, False):
        assert wait_ms(20, batch_drain) == 20
        assert wait_ms(None, batch_drain) == 1500  # faust's own


async def test_the_isolation_level_follows_the_setting_read_committed_by_default() -> None:
    def level(**setting: Any) -> str:
        consumer: Any = new_app(
            Settings(kafka_bootstrap="127.0.0.1:1", **setting), web_enabled=False
        ).consumer
        return str(consumer._thread._create_worker_consumer(consumer.transport)._isolation_level)

    assert level() == "read_committed"  # faust alone reads uncommitted unless processing exactly once
    assert level(kafka_isolation_level="read_uncommitted") == "read_uncommitted"


async def test_under_buffer_pressure_the_drain_waits_for_the_drop_then_goes_on() -> None:
    consumer = _consumer()
    delivered: list[int] = []

    async def callback(message: Any) -> None:
        delivered.append(message.offset)
        if message.offset == 1:  # the conductor's put crossed the pressure-high mark
            consumer._buffered_partitions.add(TP0)

    consumer.callback = callback
    _fetch_once(consumer, _messages(range(4)))
    drain = asyncio.ensure_future(consumer._drain_messages(Fetcher()))
    await asyncio.sleep(0.05)
    assert delivered == [0, 1]  # 2 waits for the stream to drain its buffer
    consumer.on_buffer_drop(TP0)
    await asyncio.wait_for(drain, 5)
    assert delivered == [0, 1, 2, 3]


def _acking_stream(name: str) -> tuple[Any, list[Any], list[Any], list[Any]]:
    """A stream, three events (the second message still held by another stream) and what acks record."""
    app: Any = faust.App(name, broker="kafka://127.0.0.1:1", store="memory://")
    seen: list[Any] = []
    acked: list[int] = []
    app.sensors.on_stream_event_out = lambda tp, offset, stream, event, state=None: seen.append(
        ("out", offset)
    )
    app.sensors.on_message_out = lambda tp, offset, message: seen.append(("message_out", offset))
    app._consumer = SimpleNamespace(ack=lambda message: acked.append(message.offset) or True)  # type: ignore[func-returns-value]
    stream = app.stream([], enable_acks=False)
    events = []
    for offset, refs in ((0, 1), (1, 2), (2, 1)):
        message = ConsumerMessage("t", 0, offset, 0.0, None, None, b"", b"", None)  # type: ignore[arg-type]
        message.incref(refs)
        events.append(faust.Event(app, None, b"", {}, message))
    return stream, events, seen, acked


async def test_ack_all_acknowledges_as_stream_ack_does() -> None:
    stream, events, theirs, their_acks = _acking_stream("test-ack-one")
    for event in events:
        await stream.ack(event)
    stream, events, ours, our_acks = _acking_stream("test-ack-all")
    ack_all(stream, events)
    assert (ours, our_acks) == (theirs, their_acks)
    assert our_acks == [0, 2]
    assert ours[:3] == [("out", 0), ("message_out", 0), ("out", 1)]
    assert [e.message.refcount for e in events] == [0, 1, 0]
