"""The lean conductor (streams/worker/faust_tuning/conductor.py) against faust's own handler, without a broker."""

from __future__ import annotations

import asyncio
from typing import Any

from faust.transport.conductor import Conductor
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from streams.settings import Settings
from streams.worker.agents import RawBytesSchema
from streams.worker.app import new_app
from streams.worker.faust_tuning.conductor import LeanConductor

TP0 = TP("bond.quotes", 0)


def _app(lean_conductor: bool = True, buffer: int = 8192, batch_drain: bool = True) -> Any:
    s = Settings(
        lean_conductor=lean_conductor,
        batch_drain=batch_drain,
        kafka_bootstrap="127.0.0.1:1",
        stream_buffer_maxsize=buffer,
    )
    app = new_app(s, web_enabled=False)
    app.flow_control.resume()  # faust starts it suspended until partitions are assigned
    return app


def _message(offset: int) -> ConsumerMessage:
    return ConsumerMessage(TP0.topic, 0, offset, 0.0, 0, [], b"k", b'{"x": 1}', None)


def test_the_setting_chooses_the_conductor_whatever_the_drain() -> None:
    for batch_drain in (True, False):
        assert isinstance(_app(True, batch_drain=batch_drain).topics, LeanConductor)
        assert not isinstance(_app(False, batch_drain=batch_drain).topics, LeanConductor)


async def test_a_raw_channel_receives_what_fausts_handler_puts() -> None:
    app = _app()
    lean, upstream = app.topics, Conductor(app)
    received = []
    for conductor in (lean, upstream):
        channel = app.topic(TP0.topic, schema=RawBytesSchema()).__aiter__()  # the clone the conductor sees
        handler = conductor._build_handler(TP0, {channel})
        message = _message(7)
        await handler(message)
        event = channel.queue.get_nowait()
        received.append((type(event), event.key, event.value, event.message is message, message.refcount))
    assert received[0] == received[1] == (app.conf.Event, b"k", b'{"x": 1}', True, 1)


def test_other_channels_keep_fausts_handler() -> None:
    app = _app()
    typed = app.topic(TP0.topic, value_type=bytes)
    raw = app.topic(TP0.topic, schema=RawBytesSchema()).__aiter__()  # the clone the conductor sees
    lean = app.topics
    assert (
        lean._build_handler(TP0, {typed}).__class__ is Conductor(app)._build_handler(TP0, {typed}).__class__
    )
    assert lean._build_handler(TP0, {typed, raw}).__class__ is not type(lean._build_handler(TP0, {raw}))


async def test_a_suspended_flow_holds_the_message_until_resumed() -> None:
    app = _app()
    channel = app.topic(TP0.topic, schema=RawBytesSchema()).__aiter__()  # the clone the conductor sees
    handler = app.topics._build_handler(TP0, {channel})
    app.flow_control.suspend()
    task = asyncio.ensure_future(handler(_message(1)))
    await asyncio.sleep(0.01)
    assert not task.done() and channel.queue.empty()
    app.flow_control.resume()
    await asyncio.wait_for(task, 1)
    assert channel.queue.get_nowait().message.offset == 1


async def test_the_dispatcher_waits_while_the_callback_map_is_rebuilt() -> None:
    app = _app()
    conductor = app.topics
    seen: list[int] = []

    async def callback(message: Any) -> None:
        seen.append(message.offset)

    conductor._tp_to_callback[TP0] = callback
    await conductor.on_message(_message(1))
    async with conductor._tp_to_callback_lock:
        task = asyncio.ensure_future(conductor.on_message(_message(2)))
        await asyncio.sleep(0.01)
        assert seen == [1]
    await asyncio.wait_for(task, 1)
    assert seen == [1, 2]


async def test_a_full_buffer_waits_for_room_as_faust_does() -> None:
    app = _app(buffer=2)
    channel = app.topic(TP0.topic, schema=RawBytesSchema()).__aiter__()  # the clone the conductor sees
    handler = app.topics._build_handler(TP0, {channel})
    await handler(_message(1))
    await handler(_message(2))
    task = asyncio.ensure_future(handler(_message(3)))
    await asyncio.sleep(0.01)
    assert not task.done()
    assert channel.queue.get_nowait().message.offset == 1
    await asyncio.wait_for(task, 1)
    assert [channel.queue.get_nowait().message.offset for _ in range(2)] == [2, 3]


def test_the_setting_turns_fausts_cython_fast_paths_on_and_off() -> None:
    assert _app().conf.cython_optimizations is True
    off = new_app(Settings(cython_fast_paths=False, kafka_bootstrap="127.0.0.1:1"), web_enabled=False)
    assert off.conf.cython_optimizations is False
