"""The backtest and the worker on the real broker and Redis agree, for the demo scenario; and the worker's
state API serves the watchlist of that state.

The worker reads the topics (and four quote partitions) concurrently, a backtest reads the file in
order. The firing set does not depend on that interleaving (streams/engine/apply.py), except
issuing_into_weakness, which judges a deal on what was read before it, and a trustee's report, which
gives the factor later quotes are read with and is overdue once the clock has passed its payment date: so
each deal and each distribution report is published on its own, once everything before it in the file is
handled, as the backtest reads it. Passing stale_quote episodes do depend on how
the partitions interleave (a tranche briefly behind another partition's clock), so the history of every
alert ever raised is compared without them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from alerts.core.model import Alert
from streams.backtest.replay import run_backtest
from streams.backtest.sources import Record, read_jsonl
from streams.demo.run import scenario_path
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.publish import publish_records
from streams.kafka.topics import DEALS, DISTRIBUTIONS
from streams.model.state import TrancheState
from streams.rules.config import StaleQuoteConfig
from streams.rules.registry import RulesConfig
from streams.rules.stale_quote import micros
from streams.views.exposures import exposures
from streams.views.watchlist import WatchQuery, watchlist
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration


def _phases(records: list[Record]) -> Iterator[list[Record]]:
    """Runs of other records, and each deal and distribution report on its own."""
    run: list[Record] = []
    for record in records:
        if record[0] in (DEALS, DISTRIBUTIONS):
            if run:
                yield run
            yield [record]
            run = []
        else:
            run.append(record)
    if run:
        yield run


def _handled(metrics: str, topic: str) -> int:
    """Events of a topic the worker has finished with, whatever the outcome."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("tranchewatch_events_total{") and f'topic="{topic}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def _publish_like_the_file(bootstrap: str, worker: WorkerProcess, records: list[Record]) -> None:
    published: Counter[str] = Counter()
    for phase in _phases(records):
        publish_records(bootstrap, phase)
        published.update(topic for topic, _ in phase)

        def caught_up() -> bool:
            metrics = worker.metrics()
            return all(_handled(metrics, topic) >= n for topic, n in published.items())

        wait_for(caught_up, what=f"the worker to handle {dict(published)}")


def _raised(alerts: list[Alert]) -> set[tuple[str, str, str]]:
    return {
        (a.rule, a.fingerprint, a.severity)
        for a in alerts
        if a.status == "firing" and a.rule != "stale_quote"
    }


def test_backtest_gives_the_workers_alerts_for_the_demo_scenario(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    records = list(read_jsonl(scenario_path()))
    worker = worker_factory()
    worker.wait_ready()
    _publish_like_the_file(broker.bootstrap, worker, records)
    run = run_backtest(records, RulesConfig())

    active: dict[bytes, bytes] = redis_client.hgetall(f"{redis_prefix}alerts:active")  # type: ignore[assignment]
    worker_firing = {fp.decode(): value.decode() for fp, value in active.items()}
    backtest_firing = {fp: f"{a.rule}|{a.severity}" for fp, a in run.firing().items()}
    assert worker_firing == backtest_firing
    rules_firing = {value.split("|")[0] for value in worker_firing.values()}
    assert {"below_par", "distressed_tranche", "issuing_into_weakness", "stale_quote"} <= rules_firing

    history: list[Alert] = []
    latest: list[bytes] = redis_client.hkeys(f"{redis_prefix}alerts:latest")  # type: ignore[assignment]
    for fp in latest:
        raw = redis_client.lrange(f"{redis_prefix}alerts:history:{fp.decode()}", 0, -1)
        history.extend(Alert.model_validate_json(item) for item in raw)
    assert _raised(history) == _raised(run.notices)

    # The state documents agree too: newest quote and the QuantLib analytics of every tranche.
    for tranche_id, expected in run.tranches().items():
        raw_doc = redis_client.hget(f"{redis_prefix}tranche:{tranche_id}", "d")
        assert raw_doc is not None, tranche_id
        actual = TrancheState.model_validate_json(raw_doc)
        assert (actual.last_quote, actual.analytics) == (expected.last_quote, expected.analytics), tranche_id

    # The worker's read-only API serves the same watchlist a backtest's final state gives.
    view = run.view()
    expected_rows = watchlist(view, StaleQuoteConfig(), WatchQuery(sort="mtm_loss")).model_dump(mode="json")
    status, text = worker.http("/api/v1/watchlist?sort=mtm_loss")
    assert status == 200 and json.loads(text) == expected_rows
    status, text = worker.http("/api/v1/tranches/GZFLOOD-2025-A")  # nobody quotes the venue after September
    assert status == 200 and json.loads(text)["row"]["stale"] is True
    status, text = worker.http("/api/v1/issuers/wuhan-bus")
    assert status == 200 and len(json.loads(text)["periods"]) == 2
    assert worker.http("/api/v1/tranches/NOPE")[0] == 404
    assert worker.http("/api/v1/watchlist?sort=colour")[0] == 400
    status, text = worker.http("/api/v1/openapi.json")
    assert status == 200 and "/api/v1/watchlist" in json.loads(text)["paths"]
    # And the same exposures: the Hubei and Jiangsu families summed from the entity records.
    for group_by in ("family", "province"):
        assert _api(worker, f"/api/v1/exposures?group_by={group_by}") == exposures(view, group_by).model_dump(
            mode="json"
        )
    assert {"hubei-gov", "jiangsu-gov"} <= {r["key"] for r in _api(worker, "/api/v1/exposures")["rows"]}


def _api(worker: WorkerProcess, path: str) -> Any:
    """The body of a 200: a worker on a busy machine may miss one 5-second try."""
    status, text = 0, ""
    for _ in range(3):
        status, text = worker.http(path)
        if status:
            break
    assert status == 200, (path, status, text)
    return json.loads(text)


V2_SCENARIO = Path(__file__).with_name("data") / "v2_rules.jsonl"
V2_RULES = V2_SCENARIO.with_suffix(".toml")  # the defaults, with stale_quote's relative threshold on


def _deadletter_kinds(metrics: str) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for line in metrics.splitlines():
        if line.startswith("tranchewatch_deadletters_total{"):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            kinds[reason] = kinds.get(reason, 0) + int(float(line.rsplit(" ", 1)[1]))
    return kinds


def test_backtest_gives_the_workers_alerts_for_the_v2_rules(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    """Contract v2's rule changes on the real stack: price_drop's previous quote, the like-for-like loss
    baseline, issuer_deep_loss, issuance_value_record, stale_quote's relative threshold, and the
    future_timestamp and after_maturity dead letters, including quotes read before their deal that settle
    after the maturity (tests/integration/data/v2_rules.jsonl)."""
    records = list(read_jsonl(V2_SCENARIO))
    worker = worker_factory(TRANCHEWATCH_RULES_FILE=str(V2_RULES))
    worker.wait_ready()
    _publish_like_the_file(broker.bootstrap, worker, records)
    run = run_backtest(records, RulesConfig.load(V2_RULES))

    active: dict[bytes, bytes] = redis_client.hgetall(f"{redis_prefix}alerts:active")  # type: ignore[assignment]
    worker_firing = {fp.decode(): value.decode() for fp, value in active.items()}
    assert worker_firing == {fp: f"{a.rule}|{a.severity}" for fp, a in run.firing().items()}
    assert {v.split("|")[0] for v in worker_firing.values()} >= {
        "below_par",
        "issuer_deep_loss",
        "issuance_value_record",
    }
    history: list[Alert] = []
    latest: list[bytes] = redis_client.hkeys(f"{redis_prefix}alerts:latest")  # type: ignore[assignment]
    for fp in latest:
        raw = redis_client.lrange(f"{redis_prefix}alerts:history:{fp.decode()}", 0, -1)
        history.extend(Alert.model_validate_json(item) for item in raw)
    assert _raised(history) == _raised(run.notices)
    raised = {(a.rule, a.subject.tranche_id or a.subject.issuer_id) for a in run.notices}
    assert ("price_drop", "TRK-2024-A") in raised  # 100.20 then 96.40 seventeen days later
    assert ("issuer_loss_widening", "trunk-co") not in raised  # H1 against H1: no 59x
    assert ("below_par", "LAKE-2025-S") not in raised  # its 91.00 settles after maturity
    # TRK-2024-B, quoted every two weeks from April, is not stale on 17 July under the relative threshold
    stale_b = [a for a in run.notices if a.rule == "stale_quote" and a.subject.tranche_id == "TRK-2024-B"]
    assert [a.status for a in stale_b] == ["firing", "resolved"]

    assert _deadletter_kinds(worker.metrics()) == {"future_timestamp": 1, "after_maturity": 1}
    assert run.counts["bond.quotes"]["invalid"] == 2
    # The clock is the newest quote that counts: 17 July 2025, not the 2052 typo
    assert (
        run.store.event_clock is not None and run.store.event_clock.isoformat() == "2025-07-17T09:30:00+08:00"
    )
    assert int(redis_client.hget(f"{redis_prefix}clock", "us") or 0) == micros(run.store.event_clock)
    for tranche_id, expected in run.tranches().items():
        raw_doc = redis_client.hget(f"{redis_prefix}tranche:{tranche_id}", "d")
        assert raw_doc is not None, tranche_id
        actual = TrancheState.model_validate_json(raw_doc)
        assert (actual.last_quote, actual.previous_quote) == (expected.last_quote, expected.previous_quote)
        assert actual.quote_gaps == expected.quote_gaps
