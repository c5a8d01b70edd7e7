"""Every PromQL expression in deploy/ parses and reads only series and labels the catalogue has.

The catalogue is deploy/metrics.yml; the expressions are the Prometheus rules and every target
of every Grafana dashboard panel. Parsing uses promql-parser (a Rust port of Prometheus's own
parser) for the AST, and promtool itself in test_prometheus.py.
"""

from __future__ import annotations

import re

import pytest

from tests.deploy.support import (
    DEPLOY,
    PROMETHEUS_SERIES,
    TARGET_LABELS,
    CatalogueMetric,
    Expression,
    catalogue,
    dashboard_expressions,
    grouping_labels,
    load_yaml,
    recording_rule_names,
    rule_expressions,
    rule_groups,
    selectors,
)

EXPRESSIONS = rule_expressions() + dashboard_expressions()
CATALOGUE = catalogue()
RECORDED = recording_rule_names()
RECORDING_EXPR = {
    rule["record"]: rule["expr"] for _, group in rule_groups() for rule in group["rules"] if "record" in rule
}
_SIMPLE_ALTERNATION = re.compile(r"^[\w.\-]+(\|[\w.\-]+)*$")


def _ids(expressions: list[Expression]) -> list[str]:
    return [e.where for e in expressions]


def test_there_are_expressions_to_check() -> None:
    assert len(rule_expressions()) >= 10
    assert len(dashboard_expressions()) >= 20


@pytest.mark.parametrize("expression", EXPRESSIONS, ids=_ids(EXPRESSIONS))
def test_expression_reads_only_catalogued_series(expression: Expression) -> None:
    for selector in selectors(expression.parseable()):
        assert selector.name is not None, f"{expression.where}: selector without a metric name"
        known = selector.name in CATALOGUE or selector.name in RECORDED or selector.name in PROMETHEUS_SERIES
        assert known, f"{expression.where}: {selector.name} is neither in deploy/metrics.yml nor recorded"


def _metrics_behind(name: str) -> list[CatalogueMetric]:
    """The catalogue metrics a series name stands for, following recording rules."""
    if name in CATALOGUE:
        return [CATALOGUE[name]]
    if name in RECORDING_EXPR:
        return [m for s in selectors(RECORDING_EXPR[name]) if s.name for m in _metrics_behind(s.name)]
    return []


@pytest.mark.parametrize("expression", EXPRESSIONS, ids=_ids(EXPRESSIONS))
def test_expression_uses_only_labels_the_series_have(expression: Expression) -> None:
    text = expression.parseable()
    allowed = set(TARGET_LABELS) | {"le"}
    for selector in selectors(text):
        metric = CATALOGUE.get(selector.name or "")
        for metric_behind in _metrics_behind(selector.name or ""):
            allowed |= set(metric_behind.labels)
        for label, op, value in selector.matchers:
            if metric is None or label in TARGET_LABELS or label == "__name__":
                continue
            assert label in metric.labels_of(selector.name or ""), (
                f"{expression.where}: {selector.name} has no label {label!r}"
            )
            closed = metric.labels.get(label)
            if closed is None:
                continue
            if op.endswith("Equal") and op != "MatchOp.NotEqual":
                assert value in closed, (
                    f"{expression.where}: {label}={value!r} is not one of {sorted(closed)}"
                )
            elif op == "MatchOp.Re" and _SIMPLE_ALTERNATION.match(value):
                unknown = set(value.split("|")) - closed
                assert not unknown, f"{expression.where}: {label}=~ names unknown values {sorted(unknown)}"
    unknown_grouping = grouping_labels(text) - allowed
    assert not unknown_grouping, (
        f"{expression.where}: groups by labels no series has: {sorted(unknown_grouping)}"
    )


def test_every_catalogued_metric_is_on_a_dashboard_or_in_a_rule() -> None:
    used = {s.name for e in EXPRESSIONS for s in selectors(e.parseable())}
    used |= {s.name for expr in RECORDING_EXPR.values() for s in selectors(expr)}
    families = {metric.name: metric for metric in CATALOGUE.values()}
    unused = [name for name, metric in families.items() if not (metric.series_names() & used)]
    assert not unused, f"catalogued but shown nowhere: {unused}"


def test_recording_rules_used_by_dashboards_exist() -> None:
    for expression in dashboard_expressions():
        for selector in selectors(expression.parseable()):
            if selector.name and ":" in selector.name:
                assert selector.name in RECORDED, f"{expression.where}: no recording rule {selector.name}"


def test_catalogue_follows_prometheus_naming() -> None:
    doc = load_yaml(DEPLOY / "metrics.yml")
    names = [entry["name"] for entry in doc["metrics"]]
    assert len(names) == len(set(names)), "duplicate metric names"
    for entry in doc["metrics"]:
        name, kind, labels = entry["name"], entry["type"], entry.get("labels") or {}
        assert re.fullmatch(r"tranchewatch_[a-z0-9_]+", name), name
        assert kind in {"counter", "gauge", "histogram"}, f"{name}: type {kind}"
        assert entry.get("help"), f"{name}: no help text"
        assert name.endswith("_total") == (kind == "counter"), (
            f"{name}: counters, and only counters, end _total"
        )
        if kind == "histogram":
            assert not name.endswith(("_bucket", "_sum", "_count")), name
        reserved = set(labels) & {"le", "quantile", "job", "instance", "__name__"}
        assert not reserved, f"{name}: reserved label names {reserved}"
        for label, spec in labels.items():
            assert isinstance(spec, dict) and ({"values"} & set(spec) or {"bounded_by"} & set(spec)), (
                f"{name}{{{label}}}: say which values it takes (values) or what bounds them (bounded_by)"
            )
