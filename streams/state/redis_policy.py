"""Whether Redis may drop tranchewatch's keys on its own: its `maxmemory-policy`, and its persistence.

An evicting policy (`allkeys-lru`, the cache default of many managed services) removes tranche documents,
the notification log or the outbox under memory pressure, silently: the worker would judge on a state it
never wrote and notify again what it already sent. Only `noeviction` is safe (with memory full, writes fail
and the worker holds the batch and retries). The worker refuses anything else unless
`TRANCHEWATCH_ALLOW_EVICTING_REDIS` says the operator knows.

Managed services often rename or disable `CONFIG`; then `INFO` still tells the policy (`maxmemory_policy`,
section memory) and the persistence (`aof_enabled`, section persistence). What neither tells is said, not
guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import ResponseError

SAFE_POLICY = "noeviction"
Source = Literal["config", "info", "unknown"]


@dataclass(frozen=True)
class PolicyReport:
    policy: str | None  # None: neither CONFIG GET nor INFO told it
    source: Source
    aof: bool | None  # appendonly on; None: not told
    unchecked: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def evicting(self) -> bool:
        return self.policy is not None and self.policy != SAFE_POLICY


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def read_policy(redis: Redis) -> PolicyReport:
    """The policy by CONFIG GET, else by INFO. Connection errors propagate; a refused command does not."""
    unchecked: list[str] = []
    try:
        config = {_text(k): _text(v) for k, v in (await redis.config_get("maxmemory-policy")).items()}
        appendonly = {_text(k): _text(v) for k, v in (await redis.config_get("appendonly")).items()}
        if "maxmemory-policy" in config:
            aof = appendonly["appendonly"] == "yes" if "appendonly" in appendonly else None
            return PolicyReport(config["maxmemory-policy"], "config", aof)
        unchecked.append("CONFIG GET maxmemory-policy answered nothing")
    except ResponseError as exc:  # renamed, disabled or refused by an ACL
        unchecked.append(f"CONFIG GET refused ({exc}); read INFO instead")
    return await _from_info(redis, unchecked)


async def _from_info(redis: Redis, unchecked: list[str]) -> PolicyReport:
    info: dict[str, Any] = {}
    for section in ("memory", "persistence"):
        try:
            info.update(await redis.info(section))
        except ResponseError as exc:
            unchecked.append(f"INFO {section} refused ({exc})")
    policy = info.get("maxmemory_policy")
    aof = info.get("aof_enabled")
    if policy is None:
        unchecked.append("the eviction policy: make sure it is noeviction")
    if aof is None:
        unchecked.append("whether AOF persistence is on")
    return PolicyReport(
        _text(policy) if policy is not None else None,
        "info" if policy is not None else "unknown",
        bool(int(aof)) if aof is not None else None,
        unchecked,
    )


@dataclass(frozen=True)
class Verdict:
    run: bool
    level: Literal["info", "warning", "error"]
    message: str


def judge(report: PolicyReport, allow_evicting: bool) -> Verdict:
    """Whether the worker may run on this Redis, and what to log."""
    notes = f" (could not check: {'; '.join(report.unchecked)})" if report.unchecked else ""
    if report.policy is None:
        return Verdict(True, "warning", f"redis maxmemory-policy unknown{notes}")
    if not report.evicting:
        persistence = "" if report.aof is not False else "; AOF persistence is off: a restart loses the state"
        level: Literal["info", "warning"] = "warning" if report.aof is False or notes else "info"
        return Verdict(True, level, f"redis maxmemory-policy {report.policy}{persistence}{notes}")
    if allow_evicting:
        return Verdict(
            True,
            "warning",
            f"redis maxmemory-policy is {report.policy}: Redis may evict tranche documents, the outbox or the "
            f"notification log; running anyway since TRANCHEWATCH_ALLOW_EVICTING_REDIS is set{notes}",
        )
    return Verdict(
        False,
        "error",
        f"redis maxmemory-policy is {report.policy}: Redis would evict tranchewatch's state under memory "
        f"pressure (lost documents, repeated notifications). Set maxmemory-policy noeviction, or "
        f"TRANCHEWATCH_ALLOW_EVICTING_REDIS=true to run anyway{notes}",
    )
