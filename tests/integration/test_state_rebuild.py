"""When Redis loses its data, on the real broker: a worker on a redis-server of the test's own (never the
shared one) sees a FLUSHALL mid-stream and stops with the reason; `tranchewatch rebuild`, interrupted once
and resumed, restores the documents of an uninterrupted run over the same events (the worker's handler
replayed by the backtest; tests/integration/test_backtest_matches_worker.py holds the two equal), and after
it nothing reaches Slack, abs.alerts or Alertmanager twice, while what the ledger never showed goes out once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from streams.backtest.replay import BacktestRun, run_backtest
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import ALERTS, DEALS, QUOTES
from streams.rebuild.run import Rebuild
from streams.rules.registry import RulesConfig
from streams.settings import Settings
from streams.state.keys import StateKeys
from tests.integration.test_end_to_end import DEAL, metric_value, quote
from tests.support.alertmanager import OwnAlertmanager, binary
from tests.support.kafka_io import produce, read_all
from tests.support.redis_server import OwnRedis
from tests.support.slack_stub import SlackStub
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration
ROUTING = """
[receivers.log]
type = "log"
[receivers.kafka]
type = "kafka"
[receivers.slack]
type = "slack_webhook"
url = "{url}"
min_interval_seconds = 0
[[routes]]
receiver = "log"
continue = true
[[routes]]
receiver = "kafka"
continue = true
[[routes]]
receiver = "slack"
"""
BEFORE = [quote("q-1", 94.5, "2025-09-01T09:30:00+08:00"), quote("q-2", 100.4, "2025-09-01T09:31:00+08:00")]
AFTER = [
    quote("q-3", 93.0, "2025-09-01T09:32:00+08:00"),
    quote("q-4", 100.1, "2025-09-01T09:33:00+08:00"),
    quote("q-5", 94.0, "2025-09-01T09:34:00+08:00"),  # ends firing: Alertmanager's re-posts must go on
]


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[OwnAlertmanager | None]:
    """Where Debian's prometheus-alertmanager is installed (scripts/ensure-services): a receiver more."""
    if binary() is None:
        yield None
        return
    am = OwnAlertmanager(tmp_path / "am").start()
    yield am
    am.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis-own").start()
    yield server
    server.stop()


def processed(worker: WorkerProcess) -> float:
    text = worker.metrics()
    return sum(
        metric_value(text, "tranchewatch_events_total", topic=t, outcome="processed") for t in (DEALS, QUOTES)
    )


def documents(client: redis.Redis, prefix: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pattern in ("tranche:*", "issuer:*", "deal:*", "market", "entity:*", "families"):
        for key in client.scan_iter(match=prefix + pattern, count=1000):
            found[key.decode()[len(prefix) :]] = json.loads(client.hget(key, "d") or b"null")
    found["clock"] = client.hget(prefix + "clock", "at")
    found["active"] = client.hgetall(prefix + "alerts:active")
    return found


def reference_documents(run: BacktestRun) -> dict[str, Any]:
    """documents() of the backtest's in-memory store."""
    found: dict[str, Any] = {key: json.loads(raw) for key, (_, raw) in run.store.documents.items()}
    clock = run.store.event_clock
    found["clock"] = clock.isoformat().encode() if clock else None
    found["active"] = {fp.encode(): f"{a.rule}|{a.severity}".encode() for fp, a in run.firing().items()}
    return found


def transitions(client: redis.Redis, prefix: str) -> int:
    return sum(int(client.llen(key)) for key in client.scan_iter(match=prefix + "alerts:history:*"))


def ledger_keys(bootstrap: str) -> list[bytes]:
    return [dict(r.headers)["tw-notice-key"] for r in read_all(bootstrap, ALERTS)]


def test_flush_stops_the_worker_and_rebuild_restores_without_notifying_twice(
    broker: EmbeddedBroker,
    worker_env: dict[str, str],
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    own_redis: OwnRedis,
    alertmanager: OwnAlertmanager | None,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    (tmp_path / "routing.toml").write_text(ROUTING.format(url=slack.url))
    mine = {
        "TRANCHEWATCH_REDIS_URL": own_redis.url,
        "TRANCHEWATCH_ROUTING_FILE": str(tmp_path / "routing.toml"),
        "TRANCHEWATCH_STATE_CHECK_SECONDS": "0.5",
        "TRANCHEWATCH_REDIS_RETRY_MAX_SECONDS": "0.5",
        **({"TRANCHEWATCH_ALERTMANAGER_URL": alertmanager.url} if alertmanager else {}),
    }
    worker = worker_factory(**mine)
    worker.wait_ready()
    produce(broker.bootstrap, DEALS, [DEAL], key_field="deal_id")
    wait_for(lambda: processed(worker) == 1, what="the deal")
    produce(broker.bootstrap, QUOTES, BEFORE, key_field="tranche_id")
    wait_for(lambda: processed(worker) == 3, what="the first quotes")
    own = own_redis.client()
    sent_before = transitions(own, redis_prefix)
    assert sent_before >= 2
    wait_for(lambda: len(slack.received) == sent_before, what="the first notices on Slack")
    wait_for(
        lambda: len(ledger_keys(broker.bootstrap)) == sent_before, what="the first notices on abs.alerts"
    )

    own.flushall()  # the worker's own Redis: a restart without persistence, as seen from the worker
    _status, body = wait_for(lambda: (r := worker.http("/readyz"))[0] == 503 and r, what="/readyz 503")
    assert "state_lost" in body and "tranchewatch rebuild" in body
    assert 'tranchewatch_state_blocked{reason="state_lost"} 1.0' in worker.metrics()
    assert "Redis lost the state" in worker.log()
    produce(broker.bootstrap, QUOTES, AFTER, key_field="tranche_id")
    assert processed(worker) == 3
    worker.stop()
    # Nothing written after the loss (else the rebuild below would also refuse a non-empty state).
    assert not list(own.scan_iter(match=redis_prefix + "tranche:*"))

    env = {**worker_env, **mine}
    settings = Settings(
        kafka_bootstrap=broker.bootstrap,
        redis_url=own_redis.url,
        redis_prefix=redis_prefix,
        app_id=env["TRANCHEWATCH_APP_ID"],
        routing_file=tmp_path / "routing.toml",
        alertmanager_url=alertmanager.url if alertmanager else None,
    )

    def interrupt(line: str) -> None:
        if line.startswith("rebuild: 2 of"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        asyncio.run(Rebuild(settings, say=interrupt, batch_size=1, progress_every=1).run())
    assert own.hget(StateKeys(redis_prefix).marker, "status") == b"rebuilding"
    # (A worker started now would refuse the half-built state: tests/integration/test_state_marker.py.)

    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "rebuild", "--batch-size", "2"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resuming after 2 events" in done.stdout and "start the workers" in done.stdout
    # The uninterrupted run over the same events: the worker's own handler, replayed by the backtest.
    reference = run_backtest([(DEALS, DEAL), *((QUOTES, q) for q in BEFORE + AFTER)], RulesConfig.load(None))
    assert documents(own, redis_prefix) == reference_documents(reference)
    total = len(reference.notices)
    assert transitions(own, redis_prefix) == total > sent_before
    active = {fp: f"{a.rule}|{a.severity}" for fp, a in reference.firing().items()}
    assert active
    if alertmanager is not None:  # its re-posts of what fires go on, from the rebuilt state
        restored: list[bytes] = own.hkeys(redis_prefix + "alertmanager:firing:alertmanager")  # type: ignore[assignment]
        assert {k.decode() for k in restored} == set(active)

    restarted = worker_factory(**mine)
    restarted.wait_ready()
    wait_for(lambda: len(slack.received) >= total, what="the notices the ledger never showed")
    wait_for(
        lambda: (
            all(
                metric_value(restarted.metrics(), "tranchewatch_outbox_depth", sink=s) == 0
                for s in ("slack", "kafka")
            )
            and "tranchewatch_outbox_depth" in restarted.metrics()
        ),
        what="the outbox drained",
    )
    keys = ledger_keys(broker.bootstrap)
    assert len(keys) == len(set(keys)) == total
    assert len(slack.received) == total
    # What the rebuild replayed past the group's offsets (the quotes held after the loss) is read again by
    # the restarted worker and dropped by event id; nothing new is applied.
    wait_for(
        lambda: (
            metric_value(restarted.metrics(), "tranchewatch_events_total", topic=QUOTES, outcome="duplicate")
            == len(AFTER)
        ),
        what="the held quotes dropped as duplicates",
    )
    assert processed(restarted) == 0
    if alertmanager is not None:
        expected = {f"{fp}|{rule_severity.split('|')[1]}" for fp, rule_severity in active.items()}
        wait_for(lambda: set(alertmanager.firing()) == expected, what="Alertmanager to show what fires")
