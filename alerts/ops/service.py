"""What people ask of the alerts, in one place for the CLI and the HTTP API: list and show with history,
acknowledge, silences, delivery failures. Reads Redis only, so it works while the worker is down."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from redis.asyncio import Redis

from alerts.core.model import Alert
from alerts.delivery.outbox import Outbox
from alerts.keys import AlertKeys
from alerts.mute.ack import Ack, AckStore
from alerts.mute.silence import Silence, SilenceStore

AlertState = Literal["firing", "acknowledged", "resolved"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def state_of(alert: Alert, ack: Ack | None) -> AlertState:
    if alert.status == "resolved":
        return "resolved"
    return "acknowledged" if ack is not None and ack.covers(alert) else "firing"


def _summary(alert: Alert, ack: Ack | None) -> dict[str, Any]:
    row = alert.model_dump(mode="json", include={"fingerprint", "rule", "severity", "subject", "summary"})
    row |= {"state": state_of(alert, ack), "seq": alert.seq, "starts_at": alert.starts_at.isoformat()}
    row["ends_at"] = alert.ends_at.isoformat() if alert.ends_at else None
    row["acknowledged_by"] = ack.by if ack is not None and ack.covers(alert) else None
    return row


class AlertsService:
    def __init__(self, redis: Redis, prefix: str, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.redis = redis
        self.keys = AlertKeys(prefix)
        self.clock = clock
        self.acks = AckStore(redis, prefix)
        self.silences = SilenceStore(redis, prefix)
        self.outbox = Outbox(redis, prefix)

    async def list_alerts(self, state: AlertState | None = None) -> list[dict[str, Any]]:
        latest = await self.redis.hgetall(self.keys.latest)
        acks = await self.redis.hgetall(self.acks.key)
        rows = []
        for fp, raw in latest.items():
            ack_raw = acks.get(fp)
            row = _summary(
                Alert.model_validate_json(raw), Ack.model_validate_json(ack_raw) if ack_raw else None
            )
            if state is None or row["state"] == state:
                rows.append(row)
        return sorted(rows, key=lambda r: (r["state"] == "resolved", r["starts_at"]), reverse=False)

    async def show(self, fingerprint: str) -> dict[str, Any] | None:
        """The alert now, every transition with its time and evidence, and who acknowledged it."""
        raw = await self.redis.hget(self.keys.latest, fingerprint)
        if raw is None:
            return None
        alert = Alert.model_validate_json(raw)
        history = await self.redis.lrange(self.keys.history(fingerprint), 0, -1)
        transitions = []
        for item in history:
            step = Alert.model_validate_json(item)
            transitions.append(
                step.model_dump(
                    mode="json", include={"seq", "status", "severity", "event_time", "summary", "evidence"}
                )
            )
        return {
            **_summary(alert, await self.acks.get(fingerprint)),
            "evidence": alert.evidence,
            "history": transitions,
            "acknowledgements": [a.model_dump(mode="json") for a in await self.acks.log(fingerprint)],
        }

    async def acknowledge(self, fingerprint: str, by: str, comment: str = "") -> Ack:
        return await self.acks.acknowledge(fingerprint, by, comment, self.clock())

    async def add_silence(
        self,
        matchers: list[str],
        created_by: str,
        comment: str,
        ends_at: dt.datetime,
        starts_at: dt.datetime | None = None,
        recurring: str | None = None,
    ) -> Silence:
        silence = Silence.model_validate(
            {
                "matchers": matchers,
                "created_by": created_by,
                "comment": comment,
                "starts_at": starts_at or self.clock(),
                "ends_at": ends_at,
                "recurring": recurring,
            }
        )
        return await self.silences.add(silence)

    async def list_silences(self, include_expired: bool = False) -> list[dict[str, Any]]:
        now = self.clock()
        rows = []
        for silence in await self.silences.all():
            state = silence.state(now)
            if include_expired or state != "expired":
                rows.append({**silence.model_dump(mode="json"), "state": state})
        return rows

    async def expire_silence(self, silence_id: str) -> Silence:
        return await self.silences.expire(silence_id, self.clock())

    async def failures(self, limit: int = 100) -> list[dict[str, object]]:
        return await self.outbox.failures(limit)
