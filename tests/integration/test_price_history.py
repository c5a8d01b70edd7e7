"""Each quote's price kept for the web page's chart: written in the batch's commit, read back oldest first
(a late quote in its place), once per event, trimmed to the newest PRICE_POINTS."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from streams.model.state import QuoteMark
from streams.state.reader import StateReader
from streams.state.snapshot import Commit
from streams.state.store import RedisStore

pytestmark = pytest.mark.integration
T0 = dt.datetime(2025, 9, 1, 1, 30, tzinfo=dt.UTC)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def quotes(*points: tuple[str, int, float]) -> Commit:
    commit = Commit({}, {}, [("bond.quotes", e) for e, _, _ in points], [])
    commit.prices = [
        ("T1", QuoteMark(event_id=e, ts=T0 + dt.timedelta(days=d), price=p)) for e, d, p in points
    ]
    return commit


async def test_prices_are_kept_in_time_order_once_each_and_trimmed(redis: Redis, redis_prefix: str) -> None:
    store, reader = RedisStore(redis, redis_prefix), StateReader(redis, redis_prefix)
    assert await store.commit(quotes(("q1", 0, 99.5), ("q3", 2, 97.25)))
    assert await store.commit(quotes(("q2", 1, 98.0)))  # late: stamped before the newest
    assert await reader.price_history("T1") == [
        (T0, 99.5),
        (T0 + dt.timedelta(days=1), 98.0),
        (T0 + dt.timedelta(days=2), 97.25),
    ]
    assert await reader.price_history("T1", limit=1) == [(T0 + dt.timedelta(days=2), 97.25)]
    assert await reader.price_history("nobody") == []

    assert await RedisStore(redis, redis_prefix, price_points=2).commit(quotes(("q4", 3, 96.0)))
    assert [p for _, p in await reader.price_history("T1")] == [97.25, 96.0]
    assert await RedisStore(redis, redis_prefix, price_points=0).commit(quotes(("q5", 4, 95.0)))
    assert [p for _, p in await reader.price_history("T1")] == [97.25, 96.0]  # turned off: none kept
