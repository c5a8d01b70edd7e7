"""The atomic, version-checked commit against the real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from alerts.core.model import Alert, Subject
from streams.state.snapshot import Commit
from streams.state.store import RedisStore
from tests.support.alerts import an_alert

pytestmark = pytest.mark.integration


@pytest.fixture
async def store(redis_prefix: str) -> AsyncIterator[RedisStore]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield RedisStore(client, redis_prefix)
    await client.aclose()


def alert(status: str = "firing") -> Alert:
    return an_alert(1, status=status, subject=Subject(tranche_id="A"), summary="s", evidence={})


async def test_commit_is_all_or_nothing_and_version_checked(store: RedisStore, redis_prefix: str) -> None:
    loaded = await store.load(["tranche:A"])
    assert loaded == {"tranche:A": (0, None)}
    first = Commit({"tranche:A": 0}, {"tranche:A": b'{"x":1}'}, [("bond.quotes", "q-1")], [alert()])
    assert await store.commit(first)
    # A second writer that read version 0 loses: nothing of its commit is applied.
    stale = Commit(
        {"tranche:A": 0}, {"tranche:A": b'{"x":2}', "tranche:B": b"{}"}, [("bond.quotes", "q-2")], []
    )
    assert not await store.commit(stale)
    assert await store.load(["tranche:A", "tranche:B"]) == {
        "tranche:A": (1, b'{"x":1}'),
        "tranche:B": (0, None),
    }
    assert await store.seen("bond.quotes", ["q-1", "q-2"]) == {"q-1"}
    # A commit carrying an event id already seen is refused whole, so a redelivered batch changes nothing.
    replay = Commit({"tranche:A": 1}, {"tranche:A": b'{"x":3}'}, [("bond.quotes", "q-1")], [alert()])
    assert not await store.commit(replay)
    redis = store.redis
    assert await redis.xlen(f"{redis_prefix}outbox") == 1
    assert await redis.hget(f"{redis_prefix}alerts:active", "fp1") == b"below_par|critical"
    assert await store.commit(Commit({"tranche:A": 1}, {}, [("bond.quotes", "q-3")], [alert("resolved")]))
    assert await redis.hget(f"{redis_prefix}alerts:active", "fp1") is None
    assert await redis.llen(f"{redis_prefix}alerts:history:fp1") == 2


async def test_the_progress_moves_with_the_commit_and_only_from_where_it_was_loaded(
    store: RedisStore, redis_prefix: str
) -> None:
    from streams.state.store import read_progress

    tp = ("bond.quotes", 3)
    assert await store.positions([tp]) == {tp: -1}
    big = 2**53 - 1  # past Lua's 14 printed digits: stored as sent
    first = Commit({}, {}, [("bond.quotes", "q-1")], [], positions={tp: big - 1}, loaded_positions={tp: -1})
    assert await store.commit(first)
    assert await store.positions([tp, ("abs.deals", 0)]) == {tp: big - 1, ("abs.deals", 0): -1}
    # A writer that loaded the progress before `first` moved it is refused whole.
    behind = Commit({}, {}, [("bond.quotes", "q-2")], [], positions={tp: big}, loaded_positions={tp: -1})
    assert not await store.commit(behind)
    assert await store.seen("bond.quotes", ["q-2"]) == set()
    ahead = Commit({}, {}, [], [], positions={tp: big}, loaded_positions={tp: big - 1})
    assert await store.commit(ahead)
    assert await read_progress(store.redis, redis_prefix) == {tp: big}


async def test_event_ids_are_forgotten_past_the_retention(store: RedisStore, redis_prefix: str) -> None:
    import datetime as dt

    day = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    week = dt.timedelta(days=7)

    def ids(*named: tuple[str, int]) -> Commit:
        seen = [("bond.quotes", e) for e, _ in named]
        at = {("bond.quotes", e): day + dt.timedelta(days=d) for e, d in named}
        return Commit({}, {}, seen, [], seen_at=at, retention=week)

    assert await store.commit(ids(("q-0", 0), ("q-3", 3)))
    assert await store.commit(ids(("q-9", 9)))
    assert await store.seen("bond.quotes", ["q-0", "q-3", "q-9"]) == {"q-3", "q-9"}  # q-0: 9 days older
    assert await store.forgotten_before("bond.quotes", week) == day + dt.timedelta(days=2)
    assert not await store.commit(ids(("q-3", 3)))  # still a duplicate within the retention
    assert await store.forgotten_before("abs.deals", week) is None


def test_the_unbounded_seen_sets_move_into_the_ids_by_event_time(redis_prefix: str) -> None:
    import redis as sync_redis

    from streams.state.keys import StateKeys
    from streams.state.migrate import move_seen_ids

    keys = StateKeys(redis_prefix)
    client = sync_redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.sadd(keys.seen("bond.quotes"), *[f"q-{i}" for i in range(2500)])
        client.hset(keys.clock, "us", "1756684800000000")
        client.zadd(keys.ids("bond.quotes"), {"q-7": 1756771200000000})  # filed by a worker: kept as is
        assert move_seen_ids(client, redis_prefix, chunk=1000) == 2500
        assert not client.exists(keys.seen("bond.quotes"))
        assert client.zcard(keys.ids("bond.quotes")) == 2500
        assert client.zscore(keys.ids("bond.quotes"), "q-1") == 1756684800000000
        assert client.zscore(keys.ids("bond.quotes"), "q-7") == 1756771200000000
        assert move_seen_ids(client, redis_prefix) == 0
    finally:
        client.close()
