"""deploy/prometheus/ passes promtool: config, rules, rule unit tests, and every dashboard query parses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.deploy.support import (
    PROMETHEUS,
    RULE_TESTS,
    RULES,
    dashboard_expressions,
    load_yaml,
    promtool,
    rule_groups,
)


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=60, cwd=cwd)
    assert result.returncode == 0, f"promtool {' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


def test_config_is_valid_with_its_rules(tmp_path: Path) -> None:
    # The config names the rules by their in-container path; point it at the repository's copy
    # so `check config` checks the rules it would load, too.
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    config["rule_files"] = [str(path) for path in RULES]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = _run("check", "config", str(copy))
    assert f"SUCCESS: {len(RULES)} rule files found" in out.stdout + out.stderr
    _run("check", "config", str(PROMETHEUS / "prometheus.yml"))


def test_scrape_config_finds_the_workers() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "tranchewatch"]
    assert job["metrics_path"] == "/metrics"
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["worker"] and sd["port"] == 6066


def test_rules_are_valid() -> None:
    _run("check", "rules", *map(str, RULES))


def test_rule_unit_tests_pass() -> None:
    assert RULE_TESTS, "no promtool unit tests in deploy/prometheus/tests/"
    _run("test", "rules", *map(str, RULE_TESTS))


def test_every_alert_has_severity_summary_description_and_a_unit_test() -> None:
    tested: set[str] = set()
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            tested |= {t["alertname"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    alerts = [rule for _, group in rule_groups() for rule in group["rules"] if "alert" in rule]
    assert len(alerts) >= 6
    for rule in alerts:
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert {"summary", "description"} <= set(rule["annotations"]), name
        assert name in tested, f"{name} has no promtool unit test that expects it to fire"


def test_service_alerts_cover_the_failure_modes() -> None:
    exprs = {rule["alert"]: rule["expr"] for _, g in rule_groups() for rule in g["rules"] if "alert" in rule}
    wanted = {
        "worker down": "up{",
        "consumer lag": "tranchewatch_consumer_lag",
        "outbox stuck": "tranchewatch_outbox_oldest_age_seconds",
        "dead letters": "tranchewatch_deadletters_total",
        "redis errors": "tranchewatch_redis_errors_total",
    }
    for what, needle in wanted.items():
        assert any(needle in expr for expr in exprs.values()), f"no alert on {what}"


def test_every_dashboard_query_parses_with_promtool(tmp_path: Path) -> None:
    # promtool has no offline `parse`; each query becomes a recording rule and `check rules`
    # runs Prometheus's own parser over it.
    expressions = dashboard_expressions()
    rules = [
        {"record": f"dashboard:query_{i}:check", "expr": e.parseable()} for i, e in enumerate(expressions)
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8")
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        lines = "\n".join(f"  dashboard:query_{i}: {e.where}: {e.expr}" for i, e in enumerate(expressions))
        raise AssertionError(f"{result.stdout}\n{result.stderr}\nqueries:\n{lines}")
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_promtool_rejects_a_broken_query(tmp_path: Path) -> None:
    # The parse trick above must actually fail on a bad expression.
    path = tmp_path / "bad.yml"
    bad = {"groups": [{"name": "x", "rules": [{"record": "x:y:z", "expr": "sum by (topic (rate(a[5m]))"}]}]}
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
