"""The readiness registry: named reasons, in order; a check that raises or hangs is a reason, not ready."""

from __future__ import annotations

import asyncio

import pytest

from streams.worker.readiness import Readiness


async def test_no_reason_is_ready() -> None:
    readiness = Readiness()
    readiness.add("kafka", lambda: None)

    async def redis() -> str | None:
        return None

    readiness.add("redis", redis)
    assert await readiness.reasons() == {}


async def test_every_reason_by_name_in_order() -> None:
    readiness = Readiness()
    readiness.add("kafka", lambda: "no partitions assigned")
    readiness.add("redis", lambda: None)

    async def fetch() -> str | None:
        return "bond.quotes[2]@17: lz4 codec unavailable"

    readiness.add("fetch", fetch)
    reasons = await readiness.reasons()
    assert reasons == {"kafka": "no partitions assigned", "fetch": "bond.quotes[2]@17: lz4 codec unavailable"}
    assert list(reasons) == ["kafka", "fetch"]
    assert readiness.names == ["kafka", "redis", "fetch"]


async def test_a_failing_or_hanging_check_is_a_reason() -> None:
    readiness = Readiness(timeout=0.05)

    def broken() -> str | None:
        raise ConnectionError("refused")

    async def hangs() -> str | None:
        await asyncio.sleep(10)
        return None

    readiness.add("broken", broken)
    readiness.add("hangs", hangs)
    reasons = await readiness.reasons()
    assert "ConnectionError('refused')" in reasons["broken"]
    assert "did not answer" in reasons["hangs"]


def test_a_name_is_registered_once() -> None:
    readiness = Readiness()
    readiness.add("redis", lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        readiness.add("redis", lambda: None)
