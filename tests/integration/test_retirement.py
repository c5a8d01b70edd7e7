"""A matured tranche retires on the real broker and Redis: once the event-time clock passes its maturity plus
the grace (TRANCHEWATCH_RETIRE_AFTER_DAYS, 30 by default), its stale_quote alert resolves once on abs.alerts,
its price history and index entries are gone, the API serves its tombstone, a late report is dead-lettered,
and a backtest of the same events retires it the same way."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import redis

from alerts.core.china import CHINA_TIME
from streams.backtest.replay import run_backtest
from streams.backtest.sources import Record
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.publish import publish_records
from streams.kafka.topics import ALERTS, DEALS, DISTRIBUTIONS, QUOTES
from streams.model.state import Retirement, TrancheState
from streams.rules.registry import RulesConfig
from streams.rules.stale_quote import micros
from streams.state.keys import StateKeys, tranche_key
from streams.state.migrate import file_maturities
from tests.support.kafka_io import read_json
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration

DEAL = {
    "event_id": "d-1",
    "deal_id": "RET-25",
    "issuer_id": "ret-issuer",
    "issuer_name": "Retiring Issuer",
    "asset_type": "transport_revenue",
    "announced_at": "2025-03-10T10:00:00+08:00",
    "tranches": [
        {"tranche_id": "RET-25-A", "face_value": 5e8, "coupon_pct": 3.0, "issue_date": "2025-03-16",
         "maturity_date": "2026-03-16"},
        {"tranche_id": "RET-25-B", "face_value": 5e8, "coupon_pct": 3.5, "issue_date": "2025-03-16",
         "maturity_date": "2035-03-16"},
    ],
}  # fmt: skip


def quote(event_id: str, tranche_id: str, ts: str, price: float) -> dict[str, Any]:
    return {"event_id": event_id, "tranche_id": tranche_id, "ts": ts, "price": price}


def report(event_id: str, payment_date: str, reported_at: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "tranche_id": "RET-25-A",
        "payment_date": payment_date,
        "reported_at": reported_at,
        "interest_due": 1e6,
        "interest_paid": 1e6,
        "principal_due": 0,
        "principal_paid": 0,
    }


# Each phase is published once the worker has handled the one before: the worker reads the topics
# concurrently, a backtest in file order.
PHASES: list[list[Record]] = [
    [(DEALS, DEAL)],
    [
        (QUOTES, quote("q-1", "RET-25-A", "2025-09-01T09:30:00+08:00", 97.0)),
        (DISTRIBUTIONS, report("p-1", "2025-09-16", "2025-09-16T18:00:00+08:00")),
    ],
    [
        (QUOTES, quote("q-2", "RET-25-B", "2026-04-14T09:30:00+08:00", 99.0)),  # A is stale: fires
        (QUOTES, quote("q-3", "RET-25-B", "2026-04-15T09:30:00+08:00", 99.1)),  # past 2026-03-16 + 30 days
        (QUOTES, quote("q-4", "RET-25-B", "2026-04-16T09:30:00+08:00", 99.2)),
    ],
    [(DISTRIBUTIONS, report("p-late", "2026-03-16", "2026-04-20T18:00:00+08:00"))],
]


def _get(worker: WorkerProcess, path: str) -> tuple[int, str]:
    """Retried: on a busy machine one call can outlast the client's 5 s timeout (status 0)."""
    found: tuple[int, str] = wait_for(lambda: (r := worker.http(path))[0] != 0 and r, what=path)
    return found


def _handled(worker: WorkerProcess, topic: str) -> int:
    total = 0.0
    for line in worker.metrics().splitlines():
        if line.startswith("tranchewatch_events_total{") and f'topic="{topic}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def test_a_matured_tranche_retires_once_and_stays_retired(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    worker = worker_factory()
    worker.wait_ready()
    published: Counter[str] = Counter()
    for phase in PHASES:
        publish_records(broker.bootstrap, phase)
        published.update(topic for topic, _ in phase)
        wait_for(
            lambda: all(_handled(worker, t) >= n for t, n in published.items()),
            what=f"the worker to handle {dict(published)}",
        )

    def stale_a() -> list[dict[str, Any]]:
        return [
            a
            for a in read_json(broker.bootstrap, ALERTS)
            if a["rule"] == "stale_quote" and a["subject"]["tranche_id"] == "RET-25-A"
        ]

    notices = wait_for(
        lambda: (found := stale_a()) and len(found) >= 2 and found, what="A stale, then retired"
    )
    assert [(a["status"], a["seq"]) for a in notices] == [("firing", 1), ("resolved", 2)]  # once each
    resolved = notices[1]
    assert resolved["summary"] == "RET-25-A retired: matured 2026-03-16"
    assert resolved["event_time"] == resolved["ends_at"] == "2026-04-15T00:00:00+08:00"

    keys = StateKeys(redis_prefix)
    assert not redis_client.exists(keys.prices("RET-25-A"))
    assert redis_client.exists(keys.prices("RET-25-B"))
    assert redis_client.zscore(keys.maturing, "RET-25-A") is None
    assert redis_client.zscore(keys.maturing, "RET-25-B") is not None
    assert redis_client.zscore(keys.watching, "RET-25-A") is None
    assert redis_client.hget(keys.alerts.active, resolved["fingerprint"]) is None
    assert 'reason="retired"' in worker.metrics()  # the late report: a dead letter, not a resurrection

    status, text = _get(worker, "/api/v1/tranches/RET-25-A")
    assert status == 200
    tomb = json.loads(text)["state"]
    assert tomb["retired"] == {
        "retired_at": "2026-04-15T00:00:00+08:00",
        "maturity_date": "2026-03-16",
        "reason": "retired: matured 2026-03-16",
    }
    assert (tomb["deal_id"], tomb["last_quote"]["price"], tomb["terms"], tomb["reports"]) == (
        "RET-25",
        97.0,
        None,
        {},
    )
    status, text = _get(worker, "/api/v1/tranches")
    assert status == 200
    assert [row["tranche_id"] for row in json.loads(text)["rows"]] == ["RET-25-B"]  # outstanding ones

    # A backtest of the same events, with the same default grace, retires the same way.
    run = run_backtest([r for phase in PHASES for r in phase], RulesConfig())
    backtest_a = [n for n in run.notices if n.rule == "stale_quote" and n.subject.tranche_id == "RET-25-A"]
    assert [json.loads(n.model_dump_json()) for n in backtest_a] == notices
    assert json.loads(run.tranches()["RET-25-A"].model_dump_json()) == tomb


def test_the_worker_files_earlier_state_under_maturities_once(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    """State written before issue 17 has no index by maturity: built at start from the tranche documents."""
    keys = StateKeys(redis_prefix)
    tranche = TrancheState.model_validate({"tranche_id": "OLD-A", "terms": DEAL["tranches"][0]})
    unknown = TrancheState(tranche_id="OLD-X")  # quoted, no terms yet: nothing to file
    retired = TrancheState(
        tranche_id="OLD-R",
        retired=Retirement(retired_at=dt.datetime(2026, 4, 15, tzinfo=dt.UTC), maturity_date=dt.date(2026, 3, 16),
                           reason="retired: matured 2026-03-16"),
    )  # fmt: skip
    for doc in (tranche, unknown, retired):
        redis_client.hset(keys.doc(tranche_key(doc.tranche_id)), mapping={"d": doc.model_dump_json(), "v": 1})
    assert file_maturities(redis_client, redis_prefix) == 1
    assert redis_client.zrange(keys.maturing, 0, -1, withscores=True) == [
        (b"OLD-A", float(micros(dt.datetime(2026, 3, 16, tzinfo=CHINA_TIME))))
    ]
    assert file_maturities(redis_client, redis_prefix) == 0  # there now: left to the commits
