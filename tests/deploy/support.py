"""Shared helpers for the deploy tests: paths, the metrics catalogue, PromQL extraction."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
K8S = DEPLOY / "k8s"

# Labels Prometheus attaches at scrape time, valid on every series.
TARGET_LABELS = {"job", "instance"}
# Series that Prometheus itself makes, not the worker.
PROMETHEUS_SERIES = {"up"}
# Grafana's own variables, replaced by a plausible value before parsing.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def promtool() -> str:
    """The promtool binary; CI installs it with `apt-get install -y prometheus`."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: install it with `apt-get update && apt-get install -y prometheus`")
    return path


@dataclass(frozen=True)
class CatalogueMetric:
    name: str
    type: str
    labels: dict[str, set[str] | None]  # label -> its closed value set, or None when open

    def series_names(self) -> set[str]:
        if self.type == "histogram":
            return {f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count"}
        return {self.name}

    def labels_of(self, series: str) -> set[str]:
        extra = {"le"} if series.endswith("_bucket") else set()
        return set(self.labels) | extra | TARGET_LABELS


def catalogue() -> dict[str, CatalogueMetric]:
    """Series name (histogram series expanded) -> its catalogue entry."""
    doc = load_yaml(DEPLOY / "metrics.yml")
    by_series: dict[str, CatalogueMetric] = {}
    for entry in doc["metrics"]:
        labels = {
            label: (set(spec["values"]) if isinstance(spec, dict) and "values" in spec else None)
            for label, spec in (entry.get("labels") or {}).items()
        }
        metric = CatalogueMetric(entry["name"], entry["type"], labels)
        for series in metric.series_names():
            by_series[series] = metric
    return by_series


@dataclass(frozen=True)
class Expression:
    where: str  # a human pointer: file and rule or panel
    expr: str

    def parseable(self) -> str:
        text = self.expr
        for variable, value in GRAFANA_VARIABLES.items():
            text = text.replace(variable, value)
        return text


def rule_groups() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in RULES:
        for group in load_yaml(path)["groups"]:
            yield path, group


def recording_rule_names() -> set[str]:
    return {rule["record"] for _, group in rule_groups() for rule in group["rules"] if "record" in rule}


def rule_expressions() -> list[Expression]:
    return [
        Expression(f"{path.name}: {rule.get('record') or rule.get('alert')}", rule["expr"])
        for path, group in rule_groups()
        for rule in group["rules"]
    ]


def dashboard_panels(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["panels"])


def dashboard_expressions() -> list[Expression]:
    return [
        Expression(f"{path.name}: {panel['title']} [{target.get('refId')}]", target["expr"])
        for path in DASHBOARDS
        for panel in dashboard_panels(path)
        for target in panel.get("targets", [])
    ]


@dataclass(frozen=True)
class Selector:
    name: str | None
    matchers: list[tuple[str, str, str]]  # (label, op, value)


def selectors(expr: str) -> list[Selector]:
    """Every vector selector in a PromQL expression, found by walking the parsed AST."""
    found: list[Selector] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            matchers = [(m.name, str(m.op), m.value) for m in node.matchers.matchers]
            found.append(Selector(node.name, matchers))
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


def grouping_labels(expr: str) -> set[str]:
    """Label names in by/without/on/ignoring/group_* clauses."""
    return {
        label.strip() for clause in _GROUPING.findall(expr) for label in clause.split(",") if label.strip()
    }
