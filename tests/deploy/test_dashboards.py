"""The Grafana dashboards: generated from code, wired to the provisioned data source, complete."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.deploy.support import DASHBOARDS, DEPLOY, dashboard_panels, load_yaml

GRAFANA = DEPLOY / "grafana"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_three_dashboards_exist() -> None:
    assert [p.name for p in DASHBOARDS] == ["exposure.json", "market.json", "operations.json"]


@pytest.mark.parametrize("name", ["exposure.json", "market.json", "operations.json"])
def test_committed_json_equals_the_generated(name: str) -> None:
    generated = _generator().render(name)
    committed = (GRAFANA / "dashboards" / name).read_text(encoding="utf-8")
    assert committed == generated, f"{name} is stale: run .venv/bin/python deploy/grafana/build_dashboards.py"


def _datasource_uid() -> str:
    doc = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    (source,) = doc["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    return str(source["uid"])


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_panels_are_wired_and_laid_out(path: Path) -> None:
    uid = _datasource_uid()
    board = json.loads(path.read_text(encoding="utf-8"))
    assert board["uid"].startswith("tranchewatch-")
    panels = dashboard_panels(path)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel.get("description"), f"{panel['title']}: no description"
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["targets"], f"{panel['title']}: no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid
            assert target["expr"].strip()
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), f"{panel['title']}: duplicate refIds"


def test_dashboards_provider_points_where_compose_mounts_them() -> None:
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "dashboards.yml")["providers"][0]
    compose = load_yaml(DEPLOY.parent / "docker-compose.yml")
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts


def _exprs(path: Path) -> str:
    return "\n".join(t["expr"] for p in dashboard_panels(path) for t in p.get("targets", []))


def test_market_page_shows_what_the_desk_asked_for() -> None:
    exprs = _exprs(GRAFANA / "dashboards" / "market.json")
    for metric in (
        "tranchewatch_tranches_below_par",
        "tranchewatch_face_value_below_par",
        "tranchewatch_issuers_loss_widening",
        "tranchewatch_deals_this_year",
        "tranchewatch_deals_record_year",
        "tranchewatch_active_alerts",
    ):
        assert metric in exprs, metric


def test_operations_page_shows_what_on_call_needs() -> None:
    exprs = _exprs(GRAFANA / "dashboards" / "operations.json")
    for series in (
        "topic_outcome:tranchewatch_events:rate5m",
        "job:tranchewatch_processing_seconds:p99_5m",
        "tranchewatch_consumer_lag",
        "topic_reason:tranchewatch_deadletters:rate5m",
        "tranchewatch_outbox_depth",
        "tranchewatch_outbox_oldest_age_seconds",
        "operation:tranchewatch_redis_seconds:p99_5m",
        "tranchewatch_worker_ready",
    ):
        assert series in exprs, series


def test_exposure_page_shows_both_groupings_bounded_and_never_summed_over_workers() -> None:
    panels = [p for p in dashboard_panels(GRAFANA / "dashboards" / "exposure.json") if p["type"] != "row"]
    exprs = "\n".join(t["expr"] for p in panels for t in p["targets"])
    for metric in (
        "tranchewatch_exposure_outstanding_principal",
        "tranchewatch_exposure_mark_to_market_loss",
        "tranchewatch_exposure_refresh_seconds",
    ):
        assert metric in exprs, metric
    for group_by in ("province", "asset_type"):
        assert f'group_by="{group_by}"' in exprs
    for panel in panels:
        for target in panel["targets"]:
            # Every worker exports the whole market: take one worker's figure (max) before any sum.
            if "tranchewatch_exposure_" in target["expr"]:
                assert "max" in target["expr"], f"{panel['title']}: {target['expr']}"
