"""The notification log: the highest seq of each fingerprint each receiver has been sent.

Checked before a send and written right after it, so a notice re-read after a restart (its cursor not yet
confirmed) is not sent twice. A crash between the send and this write is the only window for a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redis.asyncio import Redis

from alerts.core.model import Alert
from alerts.keys import AlertKeys

# HSET only upwards: a late writer (a stale sender whose lease lapsed) never moves a fingerprint back.
_RECORD_MAX = """
for i = 1, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if tonumber(ARGV[i + 1]) > current then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
"""


class NotificationLog:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self._key = AlertKeys(prefix).nflog
        self._record = redis.register_script(_RECORD_MAX)

    async def unsent(self, receiver: str, alerts: Sequence[Alert]) -> list[bool]:
        """For each alert, whether this receiver has not had it (or a later transition of it) yet."""
        if not alerts:
            return []
        sent = await self.redis.hmget(self._key(receiver), [a.fingerprint for a in alerts])
        return [int(s or 0) < a.seq for a, s in zip(alerts, sent, strict=True)]

    async def record(self, receiver: str, alerts: Sequence[Alert]) -> None:
        seqs: dict[str, int] = {}
        for a in alerts:
            seqs[a.fingerprint] = max(seqs.get(a.fingerprint, 0), a.seq)
        await self.record_seqs(receiver, seqs)

    async def record_seqs(self, receiver: str, seqs: Mapping[str, int]) -> None:
        """As sent up to each seq, by fingerprint: what a rebuild learns from the abs.alerts ledger."""
        if not seqs:
            return
        args: list[str | int] = []
        for fingerprint, seq in seqs.items():
            args += [fingerprint, seq]
        await self._record(keys=[self._key(receiver)], args=args)
