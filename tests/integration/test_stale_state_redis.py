"""stale_quote's clock and index (and distribution_overdue's index) in the real Redis: the commit script's
writes and checks, and the upgrade of a market document written before they had keys of their own."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import orjson
import pytest
import redis
from redis.asyncio import Redis

from alerts.core.model import Alert, Subject
from streams.model.state import MarketState, QuoteMark, TrancheState
from streams.rules.stale_quote import micros
from streams.state.migrate import move_stale_quote_state
from streams.state.snapshot import Commit
from streams.state.store import RedisStore
from tests.support.alerts import an_alert

pytestmark = pytest.mark.integration
CHINA = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2025, 1, 6, 9, 30, 0, 123456, tzinfo=CHINA)


@pytest.fixture
async def store(redis_prefix: str) -> AsyncIterator[RedisStore]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield RedisStore(client, redis_prefix)
    await client.aclose()


def commit(**fields: object) -> Commit:
    return Commit({}, {}, [], [], **fields)  # type: ignore[arg-type]


async def test_index_and_clock_are_written_exactly_and_the_clock_only_rises(
    store: RedisStore, redis_prefix: str
) -> None:
    later = T0 + dt.timedelta(days=9)
    assert await store.clock() is None
    assert await store.commit(commit(watching={"A": T0, "B": later}, clock=later))
    # Scores are exact microseconds (16 digits: Lua would have printed 14) and the clock keeps its offset.
    assert await store.redis.zscore(redis_prefix + "stale:watching", "A") == micros(T0)
    assert (await store.clock()) == later and (await store.clock()).utcoffset() == dt.timedelta(hours=8)  # type: ignore[union-attr]
    assert await store.watched_before(T0) == []
    assert await store.watched_before(T0 + dt.timedelta(microseconds=1)) == ["A"]
    assert await store.commit(commit(watching={"A": None}, clock=T0))  # another worker, behind
    assert await store.clock() == later and await store.watched_before(later + dt.timedelta(1)) == ["B"]


async def test_the_commit_refuses_an_index_the_clock_has_overtaken(store: RedisStore) -> None:
    later = T0 + dt.timedelta(days=30)
    assert await store.commit(commit(watching={"A": T0}, clock=later))
    # A tranche filed here would already be overdue at the stored clock.
    assert not await store.commit(commit(watching={"B": T0}, filed_overdue_from=later))
    # An overdue tranche this batch did not load (so did not judge) is in the index.
    assert not await store.commit(commit(judged_before=later))
    judged = Commit({"tranche:A": 0}, {}, [], [], watching={"A": None}, judged_before=later)
    assert await store.commit(judged)
    assert await store.watched_before(later) == []


async def test_distribution_overdues_index_is_its_own_with_the_same_checks(
    store: RedisStore, redis_prefix: str
) -> None:
    later = T0 + dt.timedelta(days=30)
    assert await store.commit(commit(overdue={"A": T0}, watching={"B": T0}, clock=later))
    assert await store.redis.zscore(redis_prefix + "distribution_overdue:due", "A") == micros(T0)
    assert await store.due_before(T0 + dt.timedelta(microseconds=1)) == ["A"]
    assert await store.watched_before(T0 + dt.timedelta(microseconds=1)) == ["B"]  # apart from stale_quote's
    # An overdue tranche this batch did not load is in the index: refused; loaded and taken out: accepted.
    assert not await store.commit(commit(overdue_judged_before=later))
    judged = Commit({"tranche:A": 0}, {}, [], [], overdue={"A": None}, overdue_judged_before=later)
    assert await store.commit(judged)
    assert await store.due_before(later) == [] and await store.watched_before(later) == ["B"]


def _alert(status: str, seq: int) -> Alert:
    return an_alert(
        fingerprint="fp-a",
        rule="stale_quote",
        severity="info",
        status=status,
        subject=Subject(tranche_id="A"),
        starts_at=T0,
        event_time=T0,
        summary="stale",
        evidence={},
        seq=seq,
    )


def test_an_old_market_document_is_upgraded_once(redis_prefix: str, redis_client: redis.Redis) -> None:
    p, clock = redis_prefix, T0 + dt.timedelta(days=20)
    tranche = TrancheState(tranche_id="A", last_quote=QuoteMark(event_id="q", ts=T0, price=99.0))
    tranche.alerts["stale_quote"] = _alert("resolved", 2)  # the previous episode's
    redis_client.hset(f"{p}tranche:A", mapping={"d": tranche.model_dump_json(), "v": 4})
    old = MarketState(deal_counts={"2025": 3}).model_dump(mode="json") | {
        "newest_quote_at": clock.isoformat(),
        "stale_quotes": {
            "watching": [{"tranche_id": "B", "quoted_at": clock.isoformat(), "price": 100.0}],
            "stale": {"A": {"alerts": {"stale_quote": _alert("firing", 3).model_dump(mode="json")}}},
        },
    }
    redis_client.hset(f"{p}market", mapping={"d": orjson.dumps(old), "v": 7})

    assert move_stale_quote_state(redis_client, p)
    assert not move_stale_quote_state(redis_client, p)  # idempotent

    assert redis_client.hget(f"{p}clock", "at") == clock.isoformat().encode()
    assert redis_client.zrange(f"{p}stale:watching", 0, -1, withscores=True) == [(b"B", float(micros(clock)))]
    moved = TrancheState.model_validate_json(redis_client.hget(f"{p}tranche:A", "d"))  # type: ignore[arg-type]
    assert moved.alerts["stale_quote"].status == "firing" and moved.alerts["stale_quote"].seq == 3
    assert redis_client.hget(f"{p}tranche:A", "v") == b"5"
    market = orjson.loads(redis_client.hget(f"{p}market", "d"))  # type: ignore[arg-type]
    assert "stale_quotes" not in market and "newest_quote_at" not in market
    assert market["deal_counts"] == {"2025": 3} and redis_client.hget(f"{p}market", "v") == b"8"
