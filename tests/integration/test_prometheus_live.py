"""A real Prometheus (Debian's package) scrapes a running worker during a replay of the demo story, and
every dashboard expression is asked of it through the HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.demo.run import scenario_path
from streams.kafka.broker import EmbeddedBroker, free_port
from streams.kafka.publish import publish_records, read_jsonl
from tests.deploy.support import dashboard_expressions, rule_expressions, selectors
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
# Series the demo story moves; an expression made only of these must return data.
MOVED = {
    "tranchewatch_events_total",
    "tranchewatch_alerts_total",
    "tranchewatch_active_alerts",
    "tranchewatch_tranches_below_par",
    "tranchewatch_face_value_below_par",
    "tranchewatch_issuers_loss_widening",
    "tranchewatch_deals_this_year",
    "tranchewatch_deals_record_year",
    "tranchewatch_deadletters_total",
    "tranchewatch_processing_seconds_bucket",
    "tranchewatch_processing_seconds_count",
    "tranchewatch_processing_seconds_sum",
    "tranchewatch_worker_ready",
    "tranchewatch_notifications_total",
    "tranchewatch_batch_size_bucket",
    "tranchewatch_batch_size_count",
    "tranchewatch_batch_size_sum",
    "tranchewatch_consumer_lag",
    "tranchewatch_outbox_depth",
    "tranchewatch_exposure_outstanding_principal",
    "tranchewatch_exposure_mark_to_market_loss",
    "tranchewatch_exposure_refresh_seconds",
    "up",
}


class Prometheus:
    def __init__(self, target_port: int, workdir: Path) -> None:
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))],
            "scrape_configs": [
                {"job_name": "tranchewatch", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}
            ],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.command = [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        self.log = (workdir / "prometheus.log").open("wb")
        self.process: subprocess.Popen[bytes] | None = None

    def query(self, expr: str) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as response:
            return dict(json.loads(response.read()))

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Callable[[int], Prometheus]]:
    if shutil.which("prometheus") is None:
        pytest.fail("Debian's prometheus package is missing: scripts/ensure-services installs it")
    started: list[Prometheus] = []

    def start(port: int) -> Prometheus:
        prom = Prometheus(port, tmp_path)
        prom.process = subprocess.Popen(prom.command, stdout=prom.log, stderr=subprocess.STDOUT)
        started.append(prom)
        wait_for(prom.ready, timeout=60, what="prometheus /-/ready")
        return prom

    yield start
    for prom in started:
        if prom.process is not None:
            prom.process.terminate()
            prom.process.wait(timeout=20)


def has_data(result: dict[str, Any]) -> bool:
    return result["status"] == "success" and bool(result["data"]["result"])


def test_every_dashboard_expression_answers_on_a_live_scrape(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    prometheus_for: Callable[[int], Prometheus],
) -> None:
    worker = worker_factory(TRANCHEWATCH_EXPOSURE_METRICS_SECONDS="1")
    worker.wait_ready()
    prom = prometheus_for(worker.port)
    story = list(read_jsonl(scenario_path()))
    publish_records(broker.bootstrap, story)
    wait_for(
        lambda: has_data(prom.query("max(tranchewatch_deals_this_year) > 0")),
        timeout=90,
        what="the replay to reach Prometheus",
    )
    wait_for(
        lambda: has_data(prom.query("max(tranchewatch_issuers_loss_widening) > 0")),
        timeout=60,
        what="issuer losses in Prometheus",
    )
    # The whole story handled and scraped (its alerts among the active ones), and the exposure gauges
    # refreshed after it: on a busy machine the first two can hold long before the story's end.
    wait_for(
        lambda: has_data(prom.query(f"sum(tranchewatch_events_total) >= {len(story)}")),
        timeout=90,
        what="every event of the story in Prometheus",
    )
    wait_for(
        lambda: (
            has_data(prom.query('max(tranchewatch_active_alerts{rule="family_stress"}) > 0'))
            and has_data(
                prom.query('max(tranchewatch_exposure_outstanding_principal{group_by="asset_type"}) > 0')
            )
        ),
        timeout=60,
        what="the story's last alerts and the exposure gauges in Prometheus",
    )
    # A counter's first scrape gives no rate: move it again once Prometheus has seen it.
    later = [
        (
            "bond.quotes",
            {
                "event_id": f"q-late-{i}",
                "tranche_id": "WHBUS-2025-A",
                "ts": f"2025-10-20T09:3{i}:00+08:00",
                "price": 94.0 + i / 10,
            },
        )
        for i in range(5)
    ]
    publish_records(broker.bootstrap, later)
    wait_for(
        lambda: has_data(prom.query("sum(rate(tranchewatch_events_total[5m])) > 0")),
        timeout=60,
        what="rates over at least two scrapes",
    )

    failed, empty = [], []
    for expression in [*dashboard_expressions(), *rule_expressions()]:
        text = expression.parseable()
        result = prom.query(text)
        if result["status"] != "success":
            failed.append(f"{expression.where}: {result}")
            continue
        names = {s.name for s in selectors(text) if s.name}
        if names and names <= MOVED and not result["data"]["result"] and "alert" not in expression.where:
            empty.append(f"{expression.where}: {text}")
    assert not failed, "\n".join(failed)
    # Alerting-rule expressions are conditions (empty when healthy), so only panels and recordings count.
    assert not empty, "expressions over series the replay moved returned nothing:\n" + "\n".join(empty)
