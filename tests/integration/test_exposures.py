"""Exposures agree wherever they are shown: a worker on the real broker and Redis runs the demo story, then
GET /api/v1/exposures, `tranchewatch watchlist --group-by --json` and the worker's exposure gauges (bounded
by the settings: top 3 provinces plus other; two configured asset types, one absent) give the same figures,
and those are the figures an in-memory replay of the same records computes."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.backtest.replay import run_backtest
from streams.cli.main import main
from streams.demo.run import scenario_path
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.publish import publish_records, read_jsonl
from streams.rules.registry import RulesConfig
from streams.views.exposures import GROUPS, Exposures, GroupBy, bounded, exposures
from tests.conftest import REDIS_URL
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration
ASSET_TYPES = ("transport_revenue", "no_such_asset")


def _money(result: Exposures) -> dict[str, tuple[int, float, float]]:
    return {r.key: (r.tranches, r.outstanding_principal, r.mark_to_market_loss) for r in result.rows}


def _api(worker: WorkerProcess, group_by: str) -> Exposures:
    status, body = worker.http(f"/api/v1/exposures?group_by={group_by}")
    assert status == 200, body
    return Exposures.model_validate_json(body)


Series = dict[tuple[str, str], tuple[float, float]]  # (group_by, key) -> (outstanding, loss)
PRINCIPAL, LOSS = "tranchewatch_exposure_outstanding_principal", "tranchewatch_exposure_mark_to_market_loss"


def _gauges(worker: WorkerProcess) -> Series:
    found: dict[str, dict[tuple[str, str], float]] = {PRINCIPAL: {}, LOSS: {}}
    for family in text_string_to_metric_families(worker.metrics()):
        for sample in family.samples if family.name in found else []:
            found[family.name][(sample.labels["group_by"], sample.labels["key"])] = sample.value
    return {k: (v, found[LOSS].get(k, -1.0)) for k, v in found[PRINCIPAL].items()}


def _settled(worker: WorkerProcess, group_by: GroupBy, want: dict[str, tuple[int, float, float]]) -> bool:
    return _money(_api(worker, group_by)) == want


def test_api_watchlist_and_gauges_agree_on_the_demo(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    worker = worker_factory(
        TRANCHEWATCH_EXPOSURE_METRICS_SECONDS="0.5",
        TRANCHEWATCH_EXPOSURE_METRICS_TOP="3",
        TRANCHEWATCH_EXPOSURE_METRICS_ASSET_TYPES=",".join(ASSET_TYPES),
    )
    worker.wait_ready()
    records: list[tuple[str, Any]] = read_jsonl(scenario_path())
    publish_records(broker.bootstrap, records)
    expected = run_backtest(records, RulesConfig()).view()
    for group_by in GROUPS:
        settled = _money(exposures(expected, group_by))
        wait_for(partial(_settled, worker, group_by, settled), timeout=90, what=f"{group_by} settled")

    monkeypatch.setenv("TRANCHEWATCH_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("TRANCHEWATCH_REDIS_PREFIX", redis_prefix)
    served: dict[str, Exposures] = {}
    for group_by in GROUPS:
        capsys.readouterr()
        assert main(["watchlist", "--group-by", group_by, "--json"]) == 0
        printed = Exposures.model_validate_json(capsys.readouterr().out)
        served[group_by] = _api(worker, group_by)
        assert printed == served[group_by]  # every field: counts, money, holdings, firing, the clock

    provinces = bounded(served["province"], top=3)
    assets = bounded(served["asset_type"], top=3, keys=ASSET_TYPES)
    want: Series = {
        ("province", k): (m.outstanding_principal, m.mark_to_market_loss) for k, m in provinces.items()
    }
    want |= {("asset_type", k): (m.outstanding_principal, m.mark_to_market_loss) for k, m in assets.items()}
    assert len(want) == 4 + 3  # three provinces by name and other; two asset types and other
    assert want[("asset_type", "no_such_asset")] == (0.0, 0.0)
    assert want[("province", "other")][0] > 0  # the demo has more than three provinces
    wait_for(lambda: _gauges(worker) == want, timeout=30, what="the gauges to show the API's figures")
