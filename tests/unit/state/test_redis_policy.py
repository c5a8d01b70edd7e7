"""The eviction-policy check on a stand-in for Redis: by CONFIG GET, by INFO when CONFIG is refused, and
the verdict for each policy."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import NoPermissionError, ResponseError

from streams.state.redis_policy import PolicyReport, judge, read_policy


class FakeRedis:
    def __init__(self, config: dict[str, str] | None, info: dict[str, dict[str, Any]]) -> None:
        self.config = config  # None: CONFIG is disabled
        self.sections = info

    async def config_get(self, name: str) -> dict[str, str]:
        if self.config is None:
            raise ResponseError("unknown command 'CONFIG', with args beginning with: 'GET'")
        return {name: self.config[name]} if name in self.config else {}

    async def info(self, section: str) -> dict[str, Any]:
        if section not in self.sections:
            raise NoPermissionError("this user has no permissions to run the 'info' command")
        return self.sections[section]


def read(fake: FakeRedis) -> PolicyReport:
    return asyncio.run(read_policy(fake))  # type: ignore[arg-type]


def test_config_get_tells_policy_and_aof() -> None:
    report = read(FakeRedis({"maxmemory-policy": "noeviction", "appendonly": "yes"}, {}))
    assert report == PolicyReport("noeviction", "config", True)
    verdict = judge(report, allow_evicting=False)
    assert verdict.run and verdict.level == "info"


def test_evicting_policy_is_refused_unless_allowed() -> None:
    report = read(FakeRedis({"maxmemory-policy": "allkeys-lru", "appendonly": "yes"}, {}))
    refused = judge(report, allow_evicting=False)
    assert not refused.run and refused.level == "error"
    assert "allkeys-lru" in refused.message and "TRANCHEWATCH_ALLOW_EVICTING_REDIS" in refused.message
    allowed = judge(report, allow_evicting=True)
    assert allowed.run and allowed.level == "warning" and "allkeys-lru" in allowed.message


def test_disabled_config_falls_back_to_info_and_says_so() -> None:
    info: dict[str, dict[str, Any]] = {
        "memory": {"maxmemory_policy": "volatile-lru"},
        "persistence": {"aof_enabled": 0},
    }
    report = read(FakeRedis(None, info))
    assert report.policy == "volatile-lru" and report.source == "info" and report.aof is False
    assert any("CONFIG GET refused" in note for note in report.unchecked)
    verdict = judge(report, allow_evicting=False)
    assert not verdict.run and "could not check" in verdict.message


def test_nothing_readable_runs_with_a_warning_naming_what_was_not_checked() -> None:
    report = read(FakeRedis(None, {}))
    assert report.policy is None and report.source == "unknown" and not report.evicting
    verdict = judge(report, allow_evicting=False)
    assert verdict.run and verdict.level == "warning"
    assert "make sure it is noeviction" in verdict.message and "AOF" in verdict.message


def test_noeviction_without_aof_warns_that_a_restart_loses_the_state() -> None:
    verdict = judge(PolicyReport("noeviction", "config", False), allow_evicting=False)
    assert verdict.run and verdict.level == "warning" and "AOF persistence is off" in verdict.message
