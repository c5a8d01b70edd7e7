"""The state marker in the commit script, against the real Redis: created by the first commit, checked by
every later one, and a commit onto a lost state writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from streams.state.keys import StateKeys
from streams.state.marker import MarkerMode, StateLost, start_mode
from streams.state.snapshot import Commit
from streams.state.store import RedisStore

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def commit(event_id: str, version: int = 0) -> Commit:
    return Commit({"tranche:A": version}, {"tranche:A": b"{}"}, [("bond.quotes", event_id)], [])


async def test_first_commit_creates_the_marker_and_counts_commits(redis: Redis, redis_prefix: str) -> None:
    store = RedisStore(redis, redis_prefix)
    assert store.marker.kind == "create"
    assert await store.commit(commit("q-1"))
    assert store.marker.kind == "expect"  # type: ignore[comparison-overlap]  # the commit moved it on
    assert await store.commit(commit("q-2", 1))
    marker = await redis.hgetall(StateKeys(redis_prefix).marker)
    assert marker[b"status"] == b"live" and marker[b"by"] == b"worker" and marker[b"commits"] == b"2"


async def test_commit_onto_a_lost_state_writes_nothing(redis: Redis, redis_prefix: str) -> None:
    store = RedisStore(redis, redis_prefix, MarkerMode("expect"))
    with pytest.raises(StateLost, match="tranchewatch rebuild"):
        await store.commit(commit("q-1"))
    assert await redis.keys(redis_prefix + "*") == []


async def test_a_rebuild_commits_only_under_its_token_and_workers_not_at_all(
    redis: Redis, redis_prefix: str
) -> None:
    await redis.hset(StateKeys(redis_prefix).marker, mapping={"status": "rebuilding", "token": "t-1"})
    with pytest.raises(StateLost):
        await RedisStore(redis, redis_prefix, MarkerMode("rebuild", "t-0")).commit(commit("q-1"))
    with pytest.raises(StateLost):  # a worker in its first start must not take a half-rebuilt state
        await RedisStore(redis, redis_prefix, MarkerMode("create")).commit(commit("q-1"))
    assert await RedisStore(redis, redis_prefix, MarkerMode("rebuild", "t-1")).commit(commit("q-1"))
    assert await redis.hget(StateKeys(redis_prefix).marker, "status") == b"rebuilding"


def test_start_mode() -> None:
    assert start_mode({}, False, "tw:") == (MarkerMode("create"), None)
    assert start_mode({"status": "live"}, True, "tw:") == (MarkerMode("expect"), None)
    mode, reason = start_mode({}, True, "tw:")
    assert mode == MarkerMode("expect") and reason is not None and "tranchewatch rebuild" in reason
    mode, reason = start_mode({"status": "rebuilding", "since": "1"}, True, "tw:")
    assert reason is not None and "rebuild" in reason
