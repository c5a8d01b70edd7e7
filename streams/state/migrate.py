"""Upgrades state an earlier version wrote, run by `tranchewatch worker` before it consumes.

Up to issue 7, stale_quote kept its clock (`newest_quote_at`) and its index (`stale_quotes`: the watched
tranches, and a box per stale tranche holding its firing alert) inside the market document. They now live
in the `clock` hash, the `stale:watching` sorted set and each stale tranche's own document (streams/state/keys.py).
Stop workers of the earlier version first: they would write the old fields again.

Up to issue 17 there was no index of outstanding tranches by maturity (`retire:maturing`): it is built from
the tranche documents when it is missing, so that tranches which matured before the upgrade retire too.

Before issue 20 there was no state marker (streams/state/marker.py): a state written by an earlier version
is adopted (marked live) so that its first start on this version does not take it for a lost one.
"""

from __future__ import annotations

import datetime as dt
import logging

import orjson
from pydantic import BaseModel, Field
from redis import Redis, WatchError
from redis.client import Pipeline

from alerts.keys import glob_literal
from streams.model.retirement import maturing_at
from streams.model.state import AlertBox, MarketState, TrancheState
from streams.redis_client import sync_redis
from streams.rules.stale_quote import RULE, micros
from streams.settings import Settings
from streams.state.keys import MARKET_KEY, StateKeys, tranche_key
from streams.state.marker import LIVE

log = logging.getLogger(__name__)


def upgrade_state(settings: Settings) -> None:
    client = sync_redis(settings, socket_timeout=5)
    try:
        if move_stale_quote_state(client, settings.redis_prefix):
            log.info("moved stale_quote's clock and index out of the market document")
        if adopt_unmarked_state(client, settings.redis_prefix):
            log.info("state written before the state marker existed: marked live")
        moved = move_seen_ids(client, settings.redis_prefix)
        if moved:
            log.info("moved %d event ids of the unbounded seen sets into the ids kept by event time", moved)
        filed = file_maturities(client, settings.redis_prefix)
        if filed:
            log.info("filed %d outstanding tranches under their maturity, to retire them", filed)
    finally:
        client.close()


class _Entry(BaseModel):
    tranche_id: str
    quoted_at: dt.datetime


class _Index(BaseModel):
    watching: list[_Entry] = Field(default_factory=list)
    stale: dict[str, AlertBox] = Field(default_factory=dict)


class _OldMarket(BaseModel):
    newest_quote_at: dt.datetime | None = None
    stale_quotes: _Index = Field(default_factory=_Index)


def move_stale_quote_state(client: Redis, prefix: str) -> bool:
    """Moves stale_quote's state out of an old market document in one transaction (retried if another
    client writes those keys meanwhile). Idempotent: False when there is nothing to move."""
    keys = StateKeys(prefix)
    market_key = keys.doc(MARKET_KEY)
    while True:
        with client.pipeline() as pipe:
            try:
                pipe.watch(market_key, keys.clock)  # type: ignore[no-untyped-call]
                raw = pipe.hget(market_key, "d")
                doc = orjson.loads(raw) if raw else {}
                if "stale_quotes" not in doc and "newest_quote_at" not in doc:
                    return False
                _move(pipe, keys, doc)
                pipe.execute()
                return True
            except WatchError:
                continue


def _move(pipe: Pipeline, names: StateKeys, doc: dict[str, object]) -> None:
    old = _OldMarket.model_validate(doc)
    keys = {t: names.doc(tranche_key(t)) for t in old.stale_quotes.stale}
    if keys:
        pipe.watch(*keys.values())  # type: ignore[no-untyped-call]
    tranches = {t: pipe.hget(key, "d") for t, key in keys.items()}
    stored_clock = pipe.hget(names.clock, "us")
    pipe.multi()
    watching = {e.tranche_id: micros(e.quoted_at) for e in old.stale_quotes.watching}
    for tranche_id, box in old.stale_quotes.stale.items():
        raw = tranches[tranche_id]
        if raw is None:
            continue
        tranche = TrancheState.model_validate_json(raw)
        alert = box.alerts.get(RULE)
        if alert is not None and alert.status == "firing":
            tranche.alerts[RULE] = alert
            if RULE in box.noise:
                tranche.noise[RULE] = box.noise[RULE]
            pipe.hset(keys[tranche_id], "d", tranche.model_dump_json())
            pipe.hincrby(keys[tranche_id], "v", 1)
        elif tranche.last_quote is not None:  # held by an anti-noise pending period: watched again
            watching[tranche_id] = micros(tranche.last_quote.ts)
    if watching:
        pipe.zadd(names.watching, watching)
    clock = old.newest_quote_at
    if clock is not None and (stored_clock is None or micros(clock) > int(stored_clock)):
        pipe.hset(names.clock, mapping={"us": micros(clock), "at": clock.isoformat()})
    pipe.hset(names.doc(MARKET_KEY), "d", MarketState.model_validate(doc).model_dump_json())
    pipe.hincrby(names.doc(MARKET_KEY), "v", 1)


def adopt_unmarked_state(client: Redis, prefix: str) -> bool:
    """Marks live a state that has documents but no marker: one an earlier version wrote. After a loss
    none of these keys can come back without a marker, since every commit checks for it."""
    keys = StateKeys(prefix)
    if client.exists(keys.marker):
        return False
    if not client.exists(keys.doc(MARKET_KEY), keys.clock, keys.alerts.active):
        return False
    client.hsetnx(keys.marker, "status", LIVE)
    client.hsetnx(keys.marker, "by", "upgrade")
    return True


def move_seen_ids(client: Redis, prefix: str, chunk: int = 1000) -> int:
    """Up to issue 17 every event id was kept forever in a set per topic (`seen:<topic>`); they now live in a
    sorted set per topic scored by event time (`ids:<topic>`), trimmed to the retention. The old ids have no
    event time: each is filed under the stream's clock (else now), so it is forgotten once the retention has
    passed after it, and until then a duplicate of it is still dropped. Returns the ids moved."""
    names = StateKeys(prefix)
    at = client.hget(names.clock, "us")
    score = int(at) if at else micros(dt.datetime.now(dt.UTC))
    moved = 0
    for key in list(client.scan_iter(match=glob_literal(names.seen_prefix) + "*", count=1000)):
        topic = (key.decode() if isinstance(key, bytes) else str(key))[len(names.seen_prefix) :]
        batch: list[bytes] = []
        for member in client.sscan_iter(key, count=chunk):
            batch.append(member)
            if len(batch) >= chunk:
                moved += _file(client, names.ids(topic), batch, score)
                batch = []
        moved += _file(client, names.ids(topic), batch, score)
        client.unlink(key)
    return moved


def file_maturities(client: Redis, prefix: str) -> int:
    """Files every tranche document with terms that is not retired in the index of outstanding tranches by
    maturity, when that index is missing (state written before issue 17, or every tranche retired: then
    nothing is filed). NX: a tranche a worker filed meanwhile keeps its entry. Returns the tranches filed."""
    names = StateKeys(prefix)
    if client.exists(names.maturing):
        return 0
    filed = 0
    for key in client.scan_iter(match=names.doc_pattern("tranche"), count=1000):
        raw = client.hget(key, "d")
        if raw is None:
            continue
        at = maturing_at(TrancheState.model_validate_json(raw))
        if at is not None:
            doc = names.doc_of(key.decode() if isinstance(key, bytes) else str(key))
            filed += 1 if client.zadd(names.maturing, {doc.ident: micros(at)}, nx=True) else 0
    return filed


def _file(client: Redis, ids: str, members: list[bytes], score: int) -> int:
    if members:
        # NX: an id the worker has filed under its own event time keeps it.
        client.zadd(ids, dict.fromkeys(members, score), nx=True)
    return len(members)
