"""The worker's watch over its Redis: the eviction policy and the state marker, at start and periodically.
A finding that makes state unsafe stops commits through the handler's StateGuard."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from alerts.delivery.sender import Sender
from streams.kafka.groups import committed_offsets
from streams.metrics import Metrics
from streams.redis_client import async_redis, sync_redis
from streams.settings import Settings
from streams.state.guard import StateGuard
from streams.state.keys import StateKeys
from streams.state.marker import (
    LIVE,
    STATE_LOST,
    MarkerMode,
    decode_marker,
    lost_reason,
    start_mode,
)
from streams.state.redis_policy import PolicyReport, Verdict, judge, read_policy
from streams.state.store import RedisStore

log = logging.getLogger(__name__)
REDIS_POLICY = "redis_policy"


def _log(verdict: Verdict) -> None:
    log.log(logging.getLevelName(verdict.level.upper()), "%s", verdict.message)


def check_policy_at_start(settings: Settings) -> Verdict:
    """Read once before anything starts, on a client of its own (faust's loop does not exist yet)."""

    async def read() -> PolicyReport:
        client = async_redis(settings, socket_timeout=5)
        try:
            return await read_policy(client)
        finally:
            await client.aclose()

    verdict = judge(asyncio.run(read()), settings.allow_evicting_redis)
    _log(verdict)
    return verdict


class PolicyWatch:
    """Re-reads the policy: turned evicting while running, commits stop until it is noeviction again."""

    def __init__(self, redis: Redis, settings: Settings, guard: StateGuard, metrics: Metrics) -> None:
        self.redis = redis
        self.settings = settings
        self.guard = guard
        self.metrics = metrics
        self._said = ""

    async def check(self) -> Verdict:
        report = await read_policy(self.redis)
        verdict = judge(report, self.settings.allow_evicting_redis)
        self.metrics.redis_eviction_policy.clear()
        self.metrics.redis_eviction_policy.labels(report.policy or "unknown", report.source).set(1)
        if verdict.message != self._said:
            _log(verdict)
            self._said = verdict.message
        if verdict.run:
            self.guard.clear(REDIS_POLICY)
        else:
            self.guard.block(REDIS_POLICY, verdict.message)
        self.metrics.state_blocked.labels(REDIS_POLICY).set(0 if verdict.run else 1)
        return verdict

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except RedisError as exc:  # an outage is the handler's to wait out; check again later
                log.debug("redis policy check failed: %s", exc)
            await asyncio.sleep(self.settings.redis_policy_check_seconds)


def marker_at_start(settings: Settings) -> tuple[MarkerMode, str | None]:
    """Before consuming: the marker, and whether the group has read anything (then a missing marker is a
    loss, not a first start)."""
    client = sync_redis(settings, socket_timeout=5)
    try:
        marker = decode_marker(client.hgetall(StateKeys(settings.redis_prefix).marker))  # type: ignore[arg-type]
    finally:
        client.close()
    offsets = committed_offsets(settings) if marker.get("status") != LIVE else {}
    return start_mode(marker, bool(offsets), settings.redis_prefix)


class MarkerWatch:
    """Notices a lost state while no batch arrives to find it (a commit finds it first otherwise), and once
    lost, stops the sender too: the outbox and the nflog went with the state, and a rebuild will need the
    receivers' leases."""

    def __init__(
        self, store: RedisStore, guard: StateGuard, sender: Sender, metrics: Metrics, every: float
    ) -> None:
        self.store = store
        self.guard = guard
        self.sender = sender
        self.metrics = metrics
        self.every = every

    async def check(self) -> bool:
        """True once the state is known lost (for good: only a restart after a rebuild clears it)."""
        if STATE_LOST not in self.guard.reasons:
            raw = await self.store.redis.hget(self.store.keys.marker, "status")
            status = raw.decode() if isinstance(raw, bytes) else raw
            if self.store.marker.kind == "create" and status == LIVE:
                # Another worker's first commit made it: from here on its absence is a loss here too.
                self.store.marker = MarkerMode("expect")
            elif self.store.marker.kind == "expect" and status != LIVE:
                self.guard.block(
                    STATE_LOST, lost_reason(self.store.keys.prefix, "seen by the periodic check")
                )
        lost = STATE_LOST in self.guard.reasons
        self.metrics.state_blocked.labels(STATE_LOST).set(1 if lost else 0)
        if lost:
            self.sender.stop()
        return lost

    async def run(self) -> None:
        while True:
            try:
                if await self.check():
                    return
            except RedisError as exc:
                log.debug("state marker check failed: %s", exc)
            await asyncio.sleep(self.every)
