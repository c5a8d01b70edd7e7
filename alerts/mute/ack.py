"""Acknowledgements: someone owns a firing alert, so its further firing notices are muted until it resolves.

An acknowledgement names the incident it covers (the alert's starts_at): when the alert resolves and later
fires again, that is a new incident, and the old acknowledgement no longer applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from alerts.core.model import Alert
from alerts.exceptions import Conflict, NotFound
from alerts.keys import AlertKeys


class Ack(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fingerprint: str
    incident_starts_at: dt.datetime
    by: str
    comment: str = ""
    at: dt.datetime

    def covers(self, alert: Alert) -> bool:
        return alert.status == "firing" and alert.starts_at == self.incident_starts_at


class AckStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.keys = AlertKeys(prefix)
        self.key = self.keys.ack

    async def acknowledge(self, fingerprint: str, by: str, comment: str, now: dt.datetime) -> Ack:
        raw = await self.redis.hget(self.keys.latest, fingerprint)
        if raw is None:
            raise NotFound(f"no alert with fingerprint {fingerprint!r}")
        alert = Alert.model_validate_json(raw)
        if alert.status != "firing":
            raise Conflict(f"alert {fingerprint} is {alert.status}; only a firing alert can be acknowledged")
        ack = Ack(fingerprint=fingerprint, incident_starts_at=alert.starts_at, by=by, comment=comment, at=now)
        body = ack.model_dump_json()
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.key, fingerprint, body)
        pipe.rpush(self.keys.acklog(fingerprint), body)  # kept for the alert's history
        pipe.ltrim(self.keys.acklog(fingerprint), -100, -1)
        await pipe.execute()
        return ack

    async def get(self, fingerprint: str) -> Ack | None:
        raw = await self.redis.hget(self.key, fingerprint)
        return Ack.model_validate_json(raw) if raw else None

    async def log(self, fingerprint: str) -> list[Ack]:
        rows = await self.redis.lrange(self.keys.acklog(fingerprint), 0, -1)
        return [Ack.model_validate_json(r) for r in rows]

    async def covering(self, alert: Alert) -> Ack | None:
        return (await self.covering_each([alert]))[0]

    async def covering_each(self, alerts: Sequence[Alert]) -> list[Ack | None]:
        """covering() for a batch, with one Redis round trip."""
        if not alerts:
            return []
        rows = await self.redis.hmget(self.key, [a.fingerprint for a in alerts])
        acks = [Ack.model_validate_json(raw) if raw else None for raw in rows]
        return [
            ack if ack is not None and ack.covers(a) else None for ack, a in zip(acks, alerts, strict=True)
        ]
