"""The daily digest: a receiver with `digest_at` gets no page per notice; its notices are held in Redis and
sent once a day, at that China time, as one message that lists them (the quiet channel of a desk or a
newsroom that wants the day's picture, not every transition as it happens).

Unlike the rules, the digest runs on the wall clock: it is a delivery schedule, not a judgement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from redis.asyncio import Redis

from alerts.core.china import CHINA_TIME
from alerts.core.model import Alert
from alerts.keys import AlertKeys

MAX_LISTED = 50  # a Slack message stays readable and under its block limits


@runtime_checkable
class DigestSink(Protocol):
    async def digest(self, title: str, alerts: Sequence[Alert]) -> None: ...


def parse_time_of_day(value: str) -> dt.time:
    hours, _, minutes = value.partition(":")
    return dt.time(int(hours), int(minutes or 0))


def due_day(now: dt.datetime, at: dt.time) -> dt.date | None:
    """The China date whose digest is due at `now`: today once `at` has passed, else none yet."""
    local = now.astimezone(CHINA_TIME)
    return local.date() if local.time() >= at else None


def title(day: dt.date, alerts: Sequence[Alert], held: int) -> str:
    firing = sum(1 for a in alerts if a.status == "firing")
    more = f"; the first {len(alerts)} listed" if held > len(alerts) else ""
    return f"Daily digest {day.isoformat()}: {held} alert notices ({firing} firing, {len(alerts) - firing} resolved{more})"


class DigestBook:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        keys = AlertKeys(prefix)
        self._held, self._last = keys.digest, keys.digest_last

    async def hold(self, receiver: str, alerts: Sequence[Alert]) -> None:
        if alerts:
            await self.redis.rpush(self._held(receiver), *(a.model_dump_json() for a in alerts))

    async def pending(self, receiver: str, day: dt.date) -> tuple[list[Alert], int] | None:
        """The held notices (at most MAX_LISTED) and how many there are, unless `day`'s digest already went."""
        last = await self.redis.get(self._last(receiver))
        if last is not None and (last.decode() if isinstance(last, bytes) else str(last)) >= day.isoformat():
            return None
        held = int(await self.redis.llen(self._held(receiver)))
        rows = await self.redis.lrange(self._held(receiver), 0, MAX_LISTED - 1)
        return [Alert.model_validate_json(r) for r in rows], held

    async def mark_sent(self, receiver: str, day: dt.date, count: int) -> None:
        """Drops the notices the digest covered (newer ones stay for tomorrow) and remembers the day."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.ltrim(self._held(receiver), count, -1)
        pipe.set(self._last(receiver), day.isoformat())
        await pipe.execute()
