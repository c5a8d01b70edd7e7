"""Redis AUTH for real: a redis-server of the test's own with --requirepass, the password given as its own
setting; the worker alerts through it, and neither the password nor the Slack URL appears in its log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import DEALS, QUOTES
from tests.support.kafka_io import produce
from tests.support.redis_server import OwnRedis
from tests.support.slack_stub import SlackStub
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.reliability]
PASSWORD = "s3cret-redis-Pa55"

DEAL = {"event_id": "d-1", "deal_id": "D", "issuer_id": "I", "issuer_name": "Issuer", "asset_type": "toll_road",
        "announced_at": "2025-01-10T10:00:00+08:00",
        "tranches": [{"tranche_id": "T", "face_value": 6e8, "coupon_pct": 2.6, "issue_date": "2025-01-15",
                      "maturity_date": "2035-01-15"}]}  # fmt: skip
QUOTE = {"event_id": "q-1", "tranche_id": "T", "ts": "2025-09-01T09:30:00+08:00", "price": 94.0}


def test_worker_uses_redis_auth_and_logs_no_secret(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    redis_prefix: str,
    tmp_path: Path,
    show: Callable[[str, dict[str, object]], None],
) -> None:
    server = OwnRedis(tmp_path / "redis-auth", password=PASSWORD).start()
    try:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=server.port).ping()  # no password, no entry
        worker = worker_factory(
            TRANCHEWATCH_REDIS_URL=f"redis://127.0.0.1:{server.port}/0",
            TRANCHEWATCH_REDIS_PASSWORD=PASSWORD,
            TRANCHEWATCH_SLACK_WEBHOOK_URL=slack.url,
            TRANCHEWATCH_LOG_LEVEL="DEBUG",
        )
        worker.wait_ready()
        produce(broker.bootstrap, DEALS, [DEAL], key_field="deal_id")
        produce(broker.bootstrap, QUOTES, [QUOTE], key_field="tranche_id")
        wait_for(
            lambda: len(slack.received) == 1, timeout=120, what="the alert through the authenticated Redis"
        )
        with server.client() as client:
            assert client.hget(f"{redis_prefix}tranche:T", "d") is not None
        worker.stop()
        log = worker.log_path.read_text(errors="replace")
        secret_path = slack.url.split("/services/", 1)[1]
        leaks = [s for s in (PASSWORD, slack.url, secret_path) if s in log]
        show("Redis AUTH and secrets in the log", {
            "redis-server": f"127.0.0.1:{server.port} --requirepass",
            "unauthenticated ping refused": True,
            "alert delivered through it": len(slack.received),
            "worker log lines checked (DEBUG)": log.count("\n"),
            "secrets found in the log": len(leaks),
        })  # fmt: skip
        assert leaks == []
    finally:
        server.stop()
