"""The Redis side of the state: pipelined loads and one atomic, version-checked commit per batch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from streams.model.state import QuoteMark
from streams.rules.stale_quote import micros
from streams.state.keys import StateKeys, tranche_key
from streams.state.marker import MarkerMode, StateLost, lost_reason
from streams.state.progress import NONE, TopicPartition, field_of, parse_field
from streams.state.snapshot import Commit

# One Lua script so that the documents, the seen event ids, the outbox, the alert index and the Kafka progress
# (streams/state/progress.py) change together or not at all: Redis sits outside Kafka's offset commits, and a half-applied batch would double alerts
# on redelivery. stale_quote's index and clock change with them (see streams/state/snapshot.py for the checks).
# Scores and the clock travel as strings: Lua would print a number of 16 digits with 14.
# Key names come from streams/state/keys.py and alerts/keys.py: the fixed ones as KEYS, the families
# (a document, a topic's seen ids, a fingerprint's history) as the prefixes of their names in ARGV[2..5].
# The documents' and notices' JSON travel as arguments of their own after those (documents first, in the
# order of p.documents, then notices): inside the payload each would be escaped as a string by the worker
# and unescaped by cjson, work the size of every document written.
# The state marker is checked first and counted last (streams/state/marker.py): on a Redis that lost the
# state, nothing is written.
_COMMIT = """
local watching, clock_key, outbox, active, latest, marker = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local offsets, maturing, due = KEYS[7], KEYS[8], KEYS[9]
local p = cjson.decode(ARGV[1])
local doc, seen, history, tranche = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local status = redis.call('HGET', marker, 'status')
if p.marker == 'rebuild' then
  if status ~= 'rebuilding' or redis.call('HGET', marker, 'token') ~= p.token then
    return 'lost:' .. (status or 'missing')
  end
elseif status ~= 'live' and not (status == false and p.marker == 'create') then
  return 'lost:' .. (status or 'missing')
end
local loaded = {}
for _, c in ipairs(p.expected) do
  local v = tonumber(redis.call('HGET', doc .. c[1], 'v') or '0')
  if v ~= c[2] then return 'conflict:' .. c[1] end
  loaded[c[1]] = true
end
local clock = tonumber(redis.call('HGET', clock_key, 'us') or '-1')
if p.filed_overdue_from and clock >= tonumber(p.filed_overdue_from) then return 'conflict:clock' end
if p.judged_before then
  for _, t in ipairs(redis.call('ZRANGEBYSCORE', watching, '-inf', '(' .. p.judged_before)) do
    if not loaded[tranche .. t] then return 'conflict:stale:' .. t end
  end
end
if p.overdue_judged_before then
  for _, t in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', '(' .. p.overdue_judged_before)) do
    if not loaded[tranche .. t] then return 'conflict:overdue:' .. t end
  end
end
for _, s in ipairs(p.seen) do
  if redis.call('ZSCORE', seen .. s[1], s[2]) then return 'seen:' .. s[2] end
end
for _, o in ipairs(p.offsets) do
  if tonumber(redis.call('HGET', offsets, o[1]) or '-1') ~= tonumber(o[2]) then
    return 'conflict:offsets:' .. o[1]
  end
end
local bodies = 5
for i, key in ipairs(p.documents) do
  redis.call('HSET', doc .. key, 'd', ARGV[bodies + i])
  redis.call('HINCRBY', doc .. key, 'v', 1)
end
for _, w in ipairs(p.watching) do
  if w[2] then redis.call('ZADD', watching, w[2], w[1]) else redis.call('ZREM', watching, w[1]) end
end
for _, w in ipairs(p.overdue) do
  if w[2] then redis.call('ZADD', due, w[2], w[1]) else redis.call('ZREM', due, w[1]) end
end
for _, m in ipairs(p.maturing) do
  if m[2] then redis.call('ZADD', maturing, m[2], m[1]) else redis.call('ZREM', maturing, m[1]) end
end
if p.clock and tonumber(p.clock[1]) > clock then
  redis.call('HSET', clock_key, 'us', p.clock[1], 'at', p.clock[2])
end
local topics = {}
for _, s in ipairs(p.seen) do
  redis.call('ZADD', seen .. s[1], s[3], s[2])
  topics[s[1]] = true
end
if p.retention then
  for t, _ in pairs(topics) do
    local newest = redis.call('ZRANGE', seen .. t, -1, -1, 'WITHSCORES')[2]
    local horizon = tonumber(newest) - tonumber(p.retention)
    redis.call('ZREMRANGEBYSCORE', seen .. t, '-inf', '(' .. string.format('%.0f', horizon))
  end
end
for _, o in ipairs(p.offsets) do
  redis.call('HSET', offsets, o[1], o[3])
end
bodies = bodies + #p.documents
for i, n in ipairs(p.notices) do
  local body = ARGV[bodies + i]
  redis.call('XADD', outbox, '*', 'fp', n[1], 'n', body)
  if n[2] == 'firing' then
    redis.call('HSET', active, n[1], n[3])
  else
    redis.call('HDEL', active, n[1])
  end
  redis.call('HSET', latest, n[1], body)
  redis.call('RPUSH', history .. n[1], body)
  redis.call('LTRIM', history .. n[1], -200, -1)
end
for _, q in ipairs(p.prices) do
  local key = p.prices_prefix .. q[1]
  redis.call('ZADD', key, q[2], q[3])
  redis.call('ZREMRANGEBYRANK', key, 0, -(p.prices_kept + 1))
end
for _, t in ipairs(p.retired) do
  redis.call('DEL', p.prices_prefix .. t)
end
if status == false then
  redis.call('HSET', marker, 'status', 'live', 'since', redis.call('TIME')[1], 'by', 'worker')
end
redis.call('HINCRBY', marker, 'commits', 1)
return 'ok'
"""


# Versions of every key, and the document only where the caller's cached version is not the current one.
_LOAD = """
local out = {}
for i, key in ipairs(KEYS) do
  local v = tonumber(redis.call('HGET', key, 'v') or '0')
  local known = tonumber(ARGV[i])
  if known > 0 and v == known then
    out[i] = {v}
  else
    out[i] = {v, redis.call('HGET', key, 'd')}
  end
end
return out
"""


async def read_clock(redis: Redis, keys: StateKeys) -> dt.datetime | None:
    """stale_quote's event-time clock: the newest quote time committed (its own ISO time), None before any."""
    at = await redis.hget(keys.clock, "at")
    return dt.datetime.fromisoformat(at.decode() if isinstance(at, bytes) else at) if at else None


# The newest quotes kept per tranche for its chart on the web page (streams/views/web_pages.py), in the
# sorted set StateKeys.prices scored by epoch microseconds; the member names its event, so a quote committed
# twice is kept once. About 120 bytes of Redis memory a point (TRANCHEWATCH_PRICE_HISTORY_POINTS).
PRICE_POINTS = 250


def price_member(mark: QuoteMark) -> str:
    """The clean price per 100 of outstanding principal (what par and below_par's bands are drawn against)."""
    return f"{mark.clean_price!r}|{mark.event_id}"


class RedisStore:
    """State documents, stale_quote's clock and index, and the seen event ids, under the configured key
    prefix (their names and layout: streams/state/keys.py)."""

    unavailable_errors: tuple[type[Exception], ...] = (RedisError, OSError)

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        marker: MarkerMode | None = None,
        price_points: int | None = None,
        *,
        min_replicas: int = 0,
        replica_wait_ms: int = 1000,
    ) -> None:
        """`price_points`: quotes kept per tranche for the web page's chart (PRICE_POINTS; 0: none).
        `min_replicas` > 0 (TRANCHEWATCH_REDIS_MIN_REPLICAS): a commit counts only once that many replicas
        acknowledged it (WAIT, up to `replica_wait_ms`); otherwise NotReplicated, and the batch is retried."""
        self.redis = redis
        self.min_replicas = min_replicas
        self.replica_wait_ms = replica_wait_ms
        self._unconfirmed = False  # a commit applied here that no replica is known to hold yet
        self.price_points = PRICE_POINTS if price_points is None else price_points
        self.keys = StateKeys(prefix)
        # `create` until a commit has made sure the marker exists; the worker sets it before it consumes.
        self.marker = marker or MarkerMode("create")
        self._commit = redis.register_script(_COMMIT)
        self._load = redis.register_script(_LOAD)

    async def load(
        self, keys: Iterable[str], known: Mapping[str, int] | None = None
    ) -> dict[str, tuple[int, bytes | None]]:
        keys = list(keys)
        if known:
            rows = await self._load(
                keys=[self.keys.doc(key) for key in keys], args=[known.get(key, 0) for key in keys]
            )
            return {
                key: (int(row[0]), row[1] if len(row) > 1 and row[1] else None)
                for key, row in zip(keys, rows, strict=True)
            }
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self.keys.doc(key), "v", "d")
        rows = await pipe.execute()
        return {key: (int(v or 0), d) for key, (v, d) in zip(keys, rows, strict=True)}

    async def seen(self, topic: str, event_ids: Iterable[str]) -> set[str]:
        ids = list(event_ids)
        if not ids:
            return set()
        scores = await self.redis.zmscore(self.keys.ids(topic), ids)
        return {event_id for event_id, score in zip(ids, scores, strict=True) if score is not None}

    async def forgotten_before(self, topic: str, retention: dt.timedelta) -> dt.datetime | None:
        newest = await self.redis.zrange(self.keys.ids(topic), -1, -1, withscores=True)
        if not newest:
            return None
        return from_micros(int(newest[0][1])) - retention

    async def positions(self, parts: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        parts = list(parts)
        if not parts:
            return {}
        found = await self.redis.hmget(self.keys.offsets, [field_of(tp) for tp in parts])
        return {tp: int(v) if v is not None else NONE for tp, v in zip(parts, found, strict=True)}

    async def clock(self) -> dt.datetime | None:
        return await read_clock(self.redis, self.keys)

    async def watched_before(self, before: dt.datetime) -> list[str]:
        return await self._before(self.keys.watching, before)

    async def due_before(self, before: dt.datetime) -> list[str]:
        return await self._before(self.keys.overdue, before)

    async def _before(self, index: str, before: dt.datetime) -> list[str]:
        ids = await self.redis.zrangebyscore(index, "-inf", f"({micros(before)}")
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    async def maturing_before(self, until: dt.datetime) -> list[str]:
        ids = await self.redis.zrangebyscore(self.keys.maturing, "-inf", str(micros(until)))
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    def _replicated(self, acked: int) -> None:
        self._unconfirmed = acked < self.min_replicas
        if self._unconfirmed:
            raise NotReplicated(
                f"{acked} of {self.min_replicas} replicas acknowledged the commit within {self.replica_wait_ms} ms"
            )

    async def confirm(self) -> None:
        """Before a batch that wrote nothing is acknowledged: if an earlier commit was not confirmed by the
        replicas (NotReplicated), a write of its own and WAIT, which covers every write before it."""
        if not self.min_replicas or not self._unconfirmed:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(self.keys.replication_probe)
        pipe.execute_command("WAIT", self.min_replicas, self.replica_wait_ms)
        _, acked = await pipe.execute()
        self._replicated(int(acked))

    async def commit(self, commit: Commit) -> bool:
        payload: dict[str, object] = {
            "expected": [[k, v] for k, v in commit.expected.items()],
            "documents": list(commit.documents),
            # [topic, id, event time]: the score its topic's ids are kept and forgotten by.
            "seen": [[t, e, _stamp(commit.seen_at.get((t, e)))] for t, e in commit.seen],
            "notices": [[n.fingerprint, n.status, f"{n.rule}|{n.severity}"] for n in commit.notices],
            "watching": [[t, str(micros(at)) if at else False] for t, at in commit.watching.items()],
            "overdue": [[t, str(micros(at)) if at else False] for t, at in commit.overdue.items()],
            "maturing": [[t, str(micros(at)) if at else False] for t, at in commit.maturing.items()],
            "retired": commit.retired,
            # The price history (StateKeys.prices), unless it is turned off.
            "prices": [[t, str(micros(m.ts)), price_member(m)] for t, m in commit.prices]
            if self.price_points
            else [],
            "prices_prefix": self.keys.prices_prefix,
            "prices_kept": self.price_points,
            # Each raised position with the one loaded: [field, loaded, new], as strings (see progress.py).
            "offsets": [
                [field_of(tp), str(commit.loaded_positions.get(tp, NONE)), str(offset)]
                for tp, offset in commit.positions.items()
            ],
            **self.marker.payload(),
        }
        # Left out when unset: cjson decodes null to a value Lua counts as true.
        if commit.retention is not None:
            payload["retention"] = str(int(commit.retention / dt.timedelta(microseconds=1)))
        if commit.clock is not None:
            payload["clock"] = [str(micros(commit.clock)), commit.clock.isoformat()]
        for name, stamp in (
            ("filed_overdue_from", commit.filed_overdue_from),
            ("judged_before", commit.judged_before),
            ("overdue_judged_before", commit.overdue_judged_before),
        ):
            if stamp is not None:
                payload[name] = str(micros(stamp))
        body = orjson.dumps(payload)
        bodies: list[bytes | str] = [*commit.documents.values()]
        bodies.extend(n.model_dump_json() for n in commit.notices)
        k, alerts = self.keys, self.keys.alerts
        keys = [
            k.watching,
            k.clock,
            alerts.outbox,
            alerts.active,
            alerts.latest,
            k.marker,
            k.offsets,
            k.maturing,
            k.overdue,
        ]
        args = [body, k.doc(""), k.ids_prefix, alerts.history_prefix, tranche_key(""), *bodies]
        acked = None
        if self.min_replicas:
            # WAIT on the commit's own connection: it waits for this connection's writes to replicate.
            pipe = self.redis.pipeline(transaction=False)
            await self._commit(keys=keys, args=args, client=pipe)
            pipe.execute_command("WAIT", self.min_replicas, self.replica_wait_ms)
            result, acked = await pipe.execute()
        else:
            result = await self._commit(keys=keys, args=args)
        text = result.decode() if isinstance(result, bytes) else str(result)
        if text == "ok" and acked is not None:
            self._replicated(int(acked))
        if text.startswith("lost:"):
            raise StateLost(lost_reason(k.prefix, f"at a commit, marker {text[5:]}"))
        if text == "ok" and self.marker.kind == "create":
            self.marker = MarkerMode("expect")  # it exists now: from here on, its absence means a loss
        return text == "ok"


class NotReplicated(RedisError):
    """Fewer replicas than TRANCHEWATCH_REDIS_MIN_REPLICAS acknowledged a commit in time: it may be lost in a
    failover, so its batch is not acknowledged but retried (then found applied, or applied again)."""


async def read_progress(redis: Redis, prefix: str) -> dict[TopicPartition, int]:
    """Every (topic, partition) -> offset the commits recorded: the progress as Redis holds it."""
    raw = await redis.hgetall(StateKeys(prefix).offsets)
    return {parse_field(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _stamp(at: dt.datetime | None) -> str:
    return str(micros(at)) if at is not None else "0"


def from_micros(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)
