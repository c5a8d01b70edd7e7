"""The outbox: notices written in the same atomic step as the state that caused them, read per sink.

Each sink keeps its own cursor, so a Slack outage never holds back the Kafka topic, and a restart resumes
after the last notice that sink confirmed.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import orjson
from redis.asyncio import Redis

from alerts.core.model import Alert
from alerts.keys import AlertKeys
from alerts.redact import redact

_RENEW = """
local owner = redis.call('GET', KEYS[1])
if owner == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Outbox:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.keys = AlertKeys(prefix)
        self.stream = self.keys.outbox
        self._renew = redis.register_script(_RENEW)

    async def cursor(self, sink: str) -> str:
        value = await self.redis.get(self.keys.outbox_cursor(sink))
        return _text(value) if value else "0-0"

    async def pending(self, sink: str, count: int = 100) -> list[tuple[str, Alert]]:
        cursor = await self.cursor(sink)
        rows: list[Any] = await self.redis.xrange(  # type: ignore[assignment]
            self.stream, min=f"({cursor}", count=count
        )
        return [(_text(entry_id), Alert.model_validate_json(fields[b"n"])) for entry_id, fields in rows]

    async def wait_for_new(self, sink: str, block_ms: int) -> None:
        await self.redis.xread({self.stream: await self.cursor(sink)}, count=1, block=block_ms)

    async def confirm(self, sink: str, entry_id: str) -> None:
        await self.redis.set(self.keys.outbox_cursor(sink), entry_id)

    async def record_failure(self, sink: str, alert: Alert, reason: str) -> None:
        """Kept (the newest 1000 per receiver) for `tranchewatch alerts failures` and the API. The reason
        comes from a sink, which redacts it; it is redacted again here, since this list is shown to anyone."""
        key = self.keys.outbox_failed(sink)
        failure = {
            "receiver": sink,
            "fingerprint": alert.fingerprint,
            "seq": alert.seq,
            "rule": alert.rule,
            "reason": redact(reason),
            "at": dt.datetime.now(dt.UTC).isoformat(),
        }
        pipe = self.redis.pipeline(transaction=True)
        pipe.rpush(key, orjson.dumps(failure))
        pipe.ltrim(key, -1000, -1)
        await pipe.execute()

    async def failures(self, limit: int = 100) -> list[dict[str, object]]:
        """The newest permanent failures of every receiver, newest first."""
        rows: list[dict[str, object]] = []
        async for key in self.redis.scan_iter(match=self.keys.outbox_failed_pattern, count=100):
            rows += [orjson.loads(r) for r in await self.redis.lrange(key, -limit, -1)]
        return sorted(rows, key=lambda r: str(r["at"]), reverse=True)[:limit]

    async def hold_lease(self, sink: str, owner: str, ttl_ms: int) -> bool:
        """One sender per sink across workers, so notices keep their order and are not sent twice."""
        return bool(await self._renew(keys=[self.keys.outbox_lease(sink)], args=[owner, ttl_ms]))

    async def release_lease(self, sink: str, owner: str) -> None:
        """On a clean stop, so that the next sender need not wait for the lease to lapse."""
        key = self.keys.outbox_lease(sink)
        if await self.redis.get(key) == owner.encode():
            await self.redis.delete(key)

    async def backlog(self, sink: str, limit: int = 10_000) -> tuple[int, float]:
        """(notices waiting, age in seconds of the oldest), from the stream ids' millisecond stamps."""
        cursor = await self.cursor(sink)
        rows: list[Any] = await self.redis.xrange(  # type: ignore[assignment]
            self.stream, min=f"({cursor}", count=limit
        )
        if not rows:
            return 0, 0.0
        oldest_ms = int(_text(rows[0][0]).split("-")[0])
        return len(rows), max(0.0, time.time() - oldest_ms / 1000)

    async def trim(self, sinks: list[str]) -> None:
        cursors = [await self.cursor(s) for s in sinks]
        if cursors and all(c != "0-0" for c in cursors):
            oldest = min(cursors, key=lambda c: tuple(int(p) for p in c.split("-")))
            await self.redis.xtrim(self.stream, minid=oldest)
