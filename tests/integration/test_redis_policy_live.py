"""The eviction-policy check on a redis-server of the test's own (never the shared one): an evicting policy
refused at start, read through INFO where CONFIG is disabled, and caught while running."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from streams.kafka.broker import free_port
from streams.state.redis_policy import read_policy
from tests.support.redis_server import OwnRedis
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration
NO_CONFIG = ("--rename-command", "CONFIG", "")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[..., OwnRedis]]:
    started: list[OwnRedis] = []

    def start(*extra_args: str) -> OwnRedis:
        server = OwnRedis(tmp_path / f"redis-{len(started)}", extra_args=extra_args).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _policy(url: str) -> tuple[str | None, str, list[str]]:
    async def read() -> tuple[str | None, str, list[str]]:
        client = Redis.from_url(url)
        try:
            report = await read_policy(client)
        finally:
            await client.aclose()
        return report.policy, report.source, report.unchecked

    return asyncio.run(read())


def test_policy_read_by_config_and_by_info_when_config_is_disabled(
    own_redis: Callable[..., OwnRedis],
) -> None:
    plain = own_redis("--maxmemory-policy", "allkeys-lru")
    assert _policy(plain.url) == ("allkeys-lru", "config", [])
    managed = own_redis("--maxmemory-policy", "volatile-ttl", *NO_CONFIG)
    policy, source, unchecked = _policy(managed.url)
    assert (policy, source) == ("volatile-ttl", "info")
    assert any("CONFIG GET refused" in note for note in unchecked)


def test_worker_refuses_an_evicting_redis_at_start(
    own_redis: Callable[..., OwnRedis], tmp_path: Path
) -> None:
    server = own_redis("--maxmemory-policy", "allkeys-lru", *NO_CONFIG)
    env = {
        "TRANCHEWATCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # never reached: refused before
        "TRANCHEWATCH_REDIS_URL": server.url,
        "TRANCHEWATCH_APP_ID": f"tw-test-{uuid.uuid4().hex[:8]}",
        "TRANCHEWATCH_HTTP_PORT": str(free_port()),
    }
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    assert worker.process is not None
    assert worker.process.wait(timeout=60) == 2
    log = worker.log()
    assert "maxmemory-policy is allkeys-lru" in log and "TRANCHEWATCH_ALLOW_EVICTING_REDIS" in log
    assert "CONFIG GET refused" in log  # and it says it read INFO instead


def test_policy_turned_evicting_while_running_stops_commits_until_fixed(
    own_redis: Callable[..., OwnRedis], worker_factory: Callable[..., WorkerProcess]
) -> None:
    server = own_redis()
    worker = worker_factory(TRANCHEWATCH_REDIS_URL=server.url, TRANCHEWATCH_REDIS_POLICY_CHECK_SECONDS="0.5")
    worker.wait_ready()
    with server.client() as client:
        client.config_set("maxmemory-policy", "allkeys-lfu")
        _status, body = wait_for(
            lambda: (r := worker.http("/readyz"))[0] == 503 and r, what="/readyz 503 on allkeys-lfu"
        )
        assert "redis_policy" in body and "allkeys-lfu" in body
        assert 'tranchewatch_state_blocked{reason="redis_policy"} 1.0' in worker.metrics()
        assert 'tranchewatch_redis_eviction_policy{policy="allkeys-lfu",source="config"} 1.0' in (
            worker.metrics()
        )
        client.config_set("maxmemory-policy", "noeviction")
    worker.wait_ready()
