"""Delivery through the real worker, the real broker and Redis, and a stand-in Slack: exactly once across a
SIGKILL, and a Slack outage during a burst that ends with every notice delivered once, in order per
incident, paced to one per second per webhook.

The outage test is CI-sized by default (20 notices, a 10 s outage). Full size:
    TW_OUTAGE_ALERTS=200 TW_OUTAGE_SECONDS=60 pytest tests/integration/test_delivery_worker.py
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
import redis

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import DEALS, QUOTES
from tests.support.kafka_io import produce
from tests.support.slack_stub import SlackStub
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration
_NOTICE = re.compile(r"fingerprint `(?P<fp>[0-9a-f]+)` seq (?P<seq>\d+)")


def deal(tranches: list[str]) -> dict[str, Any]:
    return {
        "event_id": "d-burst",
        "deal_id": "BURST-2025",
        "issuer_id": "burst-issuer",
        "issuer_name": "Burst Co",
        "province": "Hubei",
        "announced_at": "2025-01-10T10:00:00+08:00",
        "currency": "CNY",
        "asset_type": "transport_revenue",
        "tranches": [
            {
                "tranche_id": t,
                "face_value": 100_000_000,
                "coupon_pct": 2.6,
                "issue_date": "2025-01-15",
                "maturity_date": "2035-01-15",
                "seniority": "senior",
            }
            for t in tranches
        ],
    }


def quote(event_id: str, tranche: str, price: float, minute: int) -> dict[str, Any]:
    ts = f"2025-09-01T{9 + minute // 60:02d}:{minute % 60:02d}:00+08:00"
    return {"event_id": event_id, "tranche_id": tranche, "ts": ts, "price": price}


def notices(slack: SlackStub) -> list[tuple[str, int]]:
    found = []
    for message in slack.received:
        m = _NOTICE.search(str(message.get("blocks")))
        assert m, message
        found.append((m["fp"], int(m["seq"])))
    return found


def outbox_len(client: redis.Redis, prefix: str) -> int:
    return int(client.xlen(f"{prefix}outbox"))


def test_a_notice_in_the_outbox_is_sent_exactly_once_after_a_sigkill(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    slack.down = True  # the notice is committed to the outbox but cannot be sent
    worker = worker_factory(
        TRANCHEWATCH_SLACK_WEBHOOK_URL=slack.url, TRANCHEWATCH_NOTIFY_RETRY_MAX_SECONDS="1"
    )
    worker.wait_ready()
    produce(broker.bootstrap, DEALS, [deal(["K-A"])], key_field="deal_id")
    wait_for(lambda: redis_client.exists(f"{redis_prefix}deal:BURST-2025"), what="the deal in Redis")
    produce(broker.bootstrap, QUOTES, [quote("q-1", "K-A", 94.0, 0)], key_field="tranche_id")
    wait_for(
        lambda: outbox_len(redis_client, redis_prefix) >= 1 and slack.attempts >= 1, what="a failed send"
    )
    assert worker.stop(signal.SIGKILL) == -signal.SIGKILL
    slack.down = False
    restarted = worker_factory(TRANCHEWATCH_SLACK_WEBHOOK_URL=slack.url)
    restarted.wait_ready()
    wait_for(lambda: len(slack.received) >= 1, what="the notice after the restart")
    # The resolution is the marker that the sender moved past the firing notice: no duplicate between them.
    produce(broker.bootstrap, QUOTES, [quote("q-2", "K-A", 99.8, 5)], key_field="tranche_id")
    wait_for(lambda: len(slack.received) >= 2, what="the resolution")
    assert [seq for _, seq in notices(slack)] == [1, 2]
    assert "RESOLVED" in slack.received[1]["text"]


def test_slack_outage_during_a_burst_delivers_each_notice_once_in_order_and_paced(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    total = int(os.environ.get("TW_OUTAGE_ALERTS", "20"))
    outage = float(os.environ.get("TW_OUTAGE_SECONDS", "10"))
    tranches = [f"OUT-{n:03d}" for n in range(total // 2)]
    worker = worker_factory(
        TRANCHEWATCH_SLACK_WEBHOOK_URL=slack.url, TRANCHEWATCH_NOTIFY_RETRY_MAX_SECONDS="2"
    )
    worker.wait_ready()
    slack.down = True
    threading.Timer(outage, lambda: setattr(slack, "down", False)).start()
    produce(broker.bootstrap, DEALS, [deal(tranches)], key_field="deal_id")
    # Topics are not ordered between each other: quotes read before their deal would never alert.
    wait_for(lambda: redis_client.exists(f"{redis_prefix}deal:BURST-2025"), what="the deal in Redis")
    burst = [quote(f"f-{t}", t, 94.0, 0) for t in tranches] + [quote(f"r-{t}", t, 99.8, 30) for t in tranches]
    produce(broker.bootstrap, QUOTES, burst, key_field="tranche_id")
    wait_for(
        lambda: len(slack.received) >= total, timeout=outage + 2.5 * total + 120, what=f"{total} notices"
    )

    got = notices(slack)
    assert len(got) == total and len(set(got)) == total, "each notice exactly once"
    per_incident: dict[str, list[int]] = defaultdict(list)
    for fp, seq in got:
        per_incident[fp].append(seq)
    assert all(seqs == [1, 2] for seqs in per_incident.values()), "firing before resolved, per incident"
    # Paced by the sender at >= 1 s per webhook; arrivals may bunch by network jitter, never by a burst.
    times = slack.arrivals
    assert all(
        times[j] - times[i] >= (j - i) - 0.5 for i in range(len(times)) for j in range(i + 1, len(times))
    )
