"""The worker's periodic look at the state marker, on stand-ins for Redis and the sender."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from streams.metrics import Metrics
from streams.state.guard import StateGuard
from streams.state.keys import StateKeys
from streams.state.marker import STATE_LOST, MarkerMode
from streams.worker.state_watch import MarkerWatch


class Marker:
    def __init__(self) -> None:
        self.status: bytes | None = None

    async def hget(self, key: str, field: str) -> bytes | None:
        return self.status


class Sender:
    def __init__(self) -> None:
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


def watch(kind: str) -> tuple[MarkerWatch, Marker, Sender, StateGuard]:
    redis, sender, guard = Marker(), Sender(), StateGuard()
    store = SimpleNamespace(redis=redis, keys=StateKeys("tw:"), marker=MarkerMode(kind))  # type: ignore[arg-type]
    return MarkerWatch(store, guard, sender, Metrics(), 0.1), redis, sender, guard  # type: ignore[arg-type]


def test_a_first_start_waits_for_the_marker_then_expects_it() -> None:
    w, redis, sender, guard = watch("create")
    assert not asyncio.run(w.check())  # no marker before the first commit: a first start, not a loss
    redis.status = b"live"  # another worker's first commit
    assert not asyncio.run(w.check())
    assert w.store.marker == MarkerMode("expect")
    redis.status = None  # FLUSHALL
    assert asyncio.run(w.check())
    assert STATE_LOST in guard.reasons and "tranchewatch rebuild" in guard.reasons[STATE_LOST]
    assert sender.stopped
    redis.status = b"live"  # even if something writes it again, only a restart clears a loss
    assert asyncio.run(w.check())
