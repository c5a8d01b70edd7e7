"""The Redis side of the state: pipelined loads and one atomic, version-checked commit per batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
from redis.asyncio import Redis

from streams.snapshot import Commit

# One Lua script so that the documents, the seen event ids, the outbox and the alert index change together
# or not at all: Redis sits outside Kafka's offset commits, and a half-applied batch would double alerts
# on redelivery.
_COMMIT = """
local p = cjson.decode(ARGV[1])
local prefix = ARGV[2]
for _, c in ipairs(p.expected) do
  local v = tonumber(redis.call('HGET', prefix .. c[1], 'v') or '0')
  if v ~= c[2] then return 'conflict:' .. c[1] end
end
for _, s in ipairs(p.seen) do
  if redis.call('SISMEMBER', prefix .. 'seen:' .. s[1], s[2]) == 1 then return 'seen:' .. s[2] end
end
for _, w in ipairs(p.documents) do
  redis.call('HSET', prefix .. w[1], 'd', w[2])
  redis.call('HINCRBY', prefix .. w[1], 'v', 1)
end
for _, s in ipairs(p.seen) do
  redis.call('SADD', prefix .. 'seen:' .. s[1], s[2])
end
for _, n in ipairs(p.notices) do
  redis.call('XADD', prefix .. 'outbox', '*', 'fp', n[1], 'n', n[2])
  if n[3] == 'firing' then
    redis.call('HSET', prefix .. 'alerts:active', n[1], n[4])
  else
    redis.call('HDEL', prefix .. 'alerts:active', n[1])
  end
  redis.call('HSET', prefix .. 'alerts:latest', n[1], n[2])
  redis.call('RPUSH', prefix .. 'alerts:history:' .. n[1], n[2])
  redis.call('LTRIM', prefix .. 'alerts:history:' .. n[1], -200, -1)
end
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


class RedisStore:
    """State documents as hashes {d: JSON, v: version} under the configured key prefix."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._commit = redis.register_script(_COMMIT)
        self._load = redis.register_script(_LOAD)

    async def load(
        self, keys: Iterable[str], known: Mapping[str, int] | None = None
    ) -> dict[str, tuple[int, bytes | None]]:
        keys = list(keys)
        if known:
            rows = await self._load(
                keys=[self.prefix + key for key in keys], args=[known.get(key, 0) for key in keys]
            )
            return {
                key: (int(row[0]), row[1] if len(row) > 1 and row[1] else None)
                for key, row in zip(keys, rows, strict=True)
            }
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.hmget(self.prefix + key, "v", "d")
        rows = await pipe.execute()
        return {key: (int(v or 0), d) for key, (v, d) in zip(keys, rows, strict=True)}

    async def seen(self, topic: str, event_ids: Iterable[str]) -> set[str]:
        ids = list(event_ids)
        if not ids:
            return set()
        flags = await self.redis.smismember(f"{self.prefix}seen:{topic}", ids)
        return {event_id for event_id, flag in zip(ids, flags, strict=True) if flag}

    async def commit(self, commit: Commit) -> bool:
        payload = {
            "expected": [[k, v] for k, v in commit.expected.items()],
            "documents": [[k, d.decode()] for k, d in commit.documents.items()],
            "seen": [[t, e] for t, e in commit.seen],
            "notices": [
                [n.fingerprint, n.model_dump_json(), n.status, f"{n.rule}|{n.severity}"]
                for n in commit.notices
            ],
        }
        body = orjson.dumps(payload)
        result = await self._commit(args=[body, self.prefix])
        return (result.decode() if isinstance(result, bytes) else str(result)) == "ok"
