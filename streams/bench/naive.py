"""The naive baseline: the same parse, snapshot and rules, but one event at a time and one Redis call per
read and per write, the way a first version of a consumer is often written.

It writes the same documents and alert history as the worker (under its own prefix), so the two alert sets
can be compared, but it has no outbox and no atomic commit: it only exists to be measured against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from streams.engine.apply import apply_event
from streams.ingest.parse import Rejected, parse
from streams.rules.registry import RulesConfig
from streams.rules.stale_quote import micros
from streams.state.snapshot import Commit, load_snapshot
from streams.state.store import RedisStore


class NaiveStore(RedisStore):
    """A StateStore that makes one round trip per key, per event id and per write (the clock and the
    overdue tranches are one read each in RedisStore already)."""

    async def load(
        self, keys: Iterable[str], known: Mapping[str, int] | None = None
    ) -> dict[str, tuple[int, bytes | None]]:
        out: dict[str, tuple[int, bytes | None]] = {}
        for key in keys:
            version, document = await self.redis.hmget(self.keys.doc(key), "v", "d")
            out[key] = (int(version or 0), document.encode() if isinstance(document, str) else document)
        return out

    async def seen(self, topic: str, event_ids: Iterable[str]) -> set[str]:
        found = set()
        for event_id in event_ids:
            if await self.redis.sismember(self.keys.seen(topic), event_id):
                found.add(event_id)
        return found

    async def commit(self, commit: Commit) -> bool:
        for key, document in commit.documents.items():
            await self.redis.hset(self.keys.doc(key), "d", document)
            await self.redis.hincrby(self.keys.doc(key), "v", 1)
        for tranche_id, at in commit.watching.items():
            if at is None:
                await self.redis.zrem(self.keys.watching, tranche_id)
            else:
                await self.redis.zadd(self.keys.watching, {tranche_id: micros(at)})
        for tranche_id, due in commit.overdue.items():
            if due is None:
                await self.redis.zrem(self.keys.overdue, tranche_id)
            else:
                await self.redis.zadd(self.keys.overdue, {tranche_id: micros(due)})
        if commit.clock is not None:  # one process, one event at a time: the snapshot's clock is the max
            clock = {"us": micros(commit.clock), "at": commit.clock.isoformat()}
            await self.redis.hset(self.keys.clock, mapping=clock)  # type: ignore[arg-type]
        for topic, event_id in commit.seen:
            await self.redis.sadd(self.keys.seen(topic), event_id)
        for notice in commit.notices:
            body = notice.model_dump_json()
            await self.redis.rpush(self.keys.alerts.history(notice.fingerprint), body)
        return True


async def handle_one(store: NaiveStore, rules: RulesConfig, topic: str, raw: bytes | None) -> int:
    """Parses, loads, applies and writes one event; returns the number of alert notices it made."""
    event = parse(topic, raw)
    if isinstance(event, Rejected):
        return 0
    if await store.seen(topic, [event.event_id]):
        return 0
    snap = await load_snapshot(store, [event], stale=rules.stale_quote, overdue=rules.distribution_overdue)
    apply_event(snap, topic, event, rules)
    await store.commit(snap.to_commit())
    return len(snap.notices)
