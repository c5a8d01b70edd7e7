"""The metrics the code exports are exactly those deploy/metrics.yml promises dashboards and rules."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import yaml

from alerts.core.model import RuleName
from streams.model.topics import INPUT_TOPICS
from streams.views.catalogue import catalogue, markdown

ROOT = Path(__file__).resolve().parents[3]


def test_code_and_catalogue_agree() -> None:
    promised = {
        m["name"]: m for m in yaml.safe_load((ROOT / "deploy" / "metrics.yml").read_text())["metrics"]
    }
    exported = {doc.name: doc for doc in catalogue()}
    assert set(exported) == set(promised)
    for name, doc in exported.items():
        assert doc.type == promised[name]["type"], name
        assert set(doc.labels) == set(promised[name].get("labels") or {}), name


def test_readme_carries_the_generated_catalogue() -> None:
    assert markdown() in (ROOT / "README.md").read_text()


def _closed(metric: str, label: str) -> set[str]:
    doc = yaml.safe_load((ROOT / "deploy" / "metrics.yml").read_text())
    (found,) = [m for m in doc["metrics"] if m["name"] == metric]
    return set(found["labels"][label]["values"])


def test_the_catalogue_names_every_topic_and_rule_the_code_has() -> None:
    # Dashboards and Prometheus rules are checked against these closed lists (tests/deploy): a topic or a
    # rule missing here could not be graphed, so every input topic (contract v2's included) and every rule
    # must be listed for the per-topic and per-rule series.
    topics = set(INPUT_TOPICS)
    for metric in (
        "tranchewatch_events_total",
        "tranchewatch_deadletters_total",
        "tranchewatch_consumer_lag",
    ):
        assert topics <= _closed(metric, "topic"), metric
    rules = set(get_args(RuleName))
    for metric in ("tranchewatch_alerts_total", "tranchewatch_active_alerts"):
        assert rules <= _closed(metric, "rule"), metric
