"""Silences: matchers, a validity window (wall clock, as operators mean "for the next two hours"), an author
and a comment; optionally recurring, muting only notices whose event time falls on a scheduled day.

Kept as JSON in one Redis hash so every worker, the CLI and the API see the same set.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from redis.asyncio import Redis

from alerts.core.model import Alert
from alerts.exceptions import NotFound
from alerts.keys import AlertKeys
from alerts.mute.schedule import Recurrence, in_schedule
from alerts.routing.matchers import all_match, parse_all


class Silence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    matchers: list[str] = Field(min_length=1)
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str = Field(min_length=1)
    comment: str = Field(min_length=1)
    recurring: Recurrence | None = None

    @field_validator("matchers")
    @classmethod
    def _valid_matchers(cls, value: list[str]) -> list[str]:
        parse_all(value)  # raises MatcherError, a ValueError: pydantic reports it with the field
        return value

    @model_validator(mode="after")
    def _window(self) -> Silence:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a UTC offset")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def state(self, now: dt.datetime) -> str:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"

    def mutes(self, alert: Alert, labels: Mapping[str, str], now: dt.datetime) -> bool:
        if self.state(now) != "active" or not all_match(parse_all(self.matchers), labels):
            return False
        return self.recurring is None or in_schedule(self.recurring, alert.event_time)


class SilenceStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.key = AlertKeys(prefix).silences

    async def add(self, silence: Silence) -> Silence:
        await self.redis.hset(self.key, silence.id, silence.model_dump_json())
        return silence

    async def get(self, silence_id: str) -> Silence | None:
        raw = await self.redis.hget(self.key, silence_id)
        return Silence.model_validate_json(raw) if raw else None

    async def all(self) -> list[Silence]:
        rows = await self.redis.hgetall(self.key)
        return sorted((Silence.model_validate_json(v) for v in rows.values()), key=lambda s: s.starts_at)

    async def expire(self, silence_id: str, now: dt.datetime) -> Silence:
        """Ends a silence now; kept (expired) so the list shows who muted what."""
        silence = await self.get(silence_id)
        if silence is None:
            raise NotFound(f"no silence {silence_id!r}")
        if silence.state(now) == "expired":
            return silence
        ended = silence.model_copy(
            update={"ends_at": max(now, silence.starts_at + dt.timedelta(microseconds=1))}
        )
        await self.redis.hset(self.key, silence_id, ended.model_dump_json())
        return ended

    async def muting(self, alert: Alert, labels: Mapping[str, str], now: dt.datetime) -> Silence | None:
        return first_muting(await self.all(), alert, labels, now)


def first_muting(
    silences: Sequence[Silence], alert: Alert, labels: Mapping[str, str], now: dt.datetime
) -> Silence | None:
    """Of silences read once for a whole batch (one HGETALL, not one per notice), the first muting this one."""
    return next((s for s in silences if s.mutes(alert, labels, now)), None)
