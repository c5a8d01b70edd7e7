"""The worker's watch over its Redis: the eviction policy at start and periodically (more to come from
streams/state). A finding that makes state unsafe stops commits through the handler's StateGuard."""

from __future__ import annotations

import asyncio
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from streams.metrics import Metrics
from streams.security import redis_options
from streams.settings import Settings
from streams.state.guard import StateGuard
from streams.state.redis_policy import PolicyReport, Verdict, judge, read_policy

log = logging.getLogger(__name__)
REDIS_POLICY = "redis_policy"


def _log(verdict: Verdict) -> None:
    log.log(logging.getLevelName(verdict.level.upper()), "%s", verdict.message)


def check_policy_at_start(settings: Settings) -> Verdict:
    """Read once before anything starts, on a client of its own (faust's loop does not exist yet)."""

    async def read() -> PolicyReport:
        client = Redis.from_url(
            settings.redis_url.get_secret_value(), socket_timeout=5, **redis_options(settings)
        )
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
