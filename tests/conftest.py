from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from streams.kafka.broker import EmbeddedBroker, free_port
from streams.kafka.topics import ensure_topics
from streams.settings import Settings
from streams.state.snapshot import CHECK_UNTOUCHED_ENV
from tests.support.slack_stub import SlackStub
from tests.support.worker_process import WorkerProcess

REDIS_URL = "redis://127.0.0.1:6379/0"

# Markers by directory and by fixture, so a test cannot land in the wrong CI stage by forgetting its
# `pytestmark`: `make test-fast` and .ci/run's stages select by these (see the Makefile).
_MARKERS_OF_DIRECTORY = {
    "integration": ("integration",),
    "reliability": ("integration", "reliability"),
    "bench": ("integration", "bench"),
}
_SERVICE_FIXTURES = frozenset({"broker", "worker_env", "worker_factory", "redis_prefix", "redis_client"})
_TESTS = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m deselection
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.resolve().relative_to(_TESTS).parts
        names = set(_MARKERS_OF_DIRECTORY.get(parts[0], ())) if len(parts) > 1 else set()
        if _SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            names.add("integration")
        for name in sorted(names - {mark.name for mark in item.iter_markers()}):
            item.add_marker(name)


# Every commit in the tests (and in the workers they start, which inherit the environment) checks that
# the documents it does not write are unchanged: the state cache reuses them as they are.
os.environ.setdefault(CHECK_UNTOUCHED_ENV, "1")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; only its keys are deleted afterwards."""
    prefix = f"twtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A fresh in-memory broker per test, so topics never carry another test's messages."""
    embedded = EmbeddedBroker(log_file=tmp_path / "broker.log")
    with embedded.running():
        yield embedded


@pytest.fixture
def slack() -> Iterator[SlackStub]:
    stub = SlackStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def worker_env(broker: EmbeddedBroker, redis_prefix: str) -> dict[str, str]:
    env = {
        "TRANCHEWATCH_KAFKA_BOOTSTRAP": broker.bootstrap,
        "TRANCHEWATCH_REDIS_URL": REDIS_URL,
        "TRANCHEWATCH_REDIS_PREFIX": redis_prefix,
        "TRANCHEWATCH_APP_ID": f"tw-test-{uuid.uuid4().hex[:8]}",
        "TRANCHEWATCH_HTTP_PORT": str(free_port()),
        "TRANCHEWATCH_SESSION_TIMEOUT_SECONDS": "6",
        "TRANCHEWATCH_REBALANCE_TIMEOUT_SECONDS": "2",
        "TRANCHEWATCH_LOG_LEVEL": "INFO",
    }
    ensure_topics(Settings(kafka_bootstrap=broker.bootstrap))
    return env


@pytest.fixture
def worker_factory(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(**overrides: str) -> WorkerProcess:
        env = {**worker_env, **overrides}
        process = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log").start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
