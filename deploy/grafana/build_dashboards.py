"""Generate the Grafana dashboards in deploy/grafana/dashboards/ from code.

    .venv/bin/python deploy/grafana/build_dashboards.py          # rewrite the JSON files
    .venv/bin/python deploy/grafana/build_dashboards.py --check  # exit 1 if they are stale

The panels are built with grafana-foundation-sdk (Grafana's own typed builders; the version in
pyproject's dev extras targets Grafana 11.6, the image docker-compose.yml runs). The committed JSON
is what Grafana provisions; tests/deploy/test_dashboards.py fails when it differs from what this
script generates, and checks every expression against deploy/metrics.yml and the PromQL parser.

Every expression reads a series from deploy/metrics.yml or a recording rule from
deploy/prometheus/rules/recording.yml. `$__rate_interval` is Grafana's own range variable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    LegendDisplayMode,
    LegendPlacement,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
)

DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
# The uid deploy/grafana/provisioning/datasources/prometheus.yml gives the Prometheus data source.
DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")
GREEN, YELLOW, ORANGE, RED, BLUE = "green", "yellow", "orange", "red", "blue"
CNY = "currencyCNY"  # Grafana's unit for yuan (¥, with k/M/B scaling)

Panel = timeseries.Panel | stat.Panel | bargauge.Panel


def query(expr: str, legend: str = "__auto", ref_id: str = "A", instant: bool = False) -> prom.Dataquery:
    q = prom.Dataquery().expr(expr).legend_format(legend).ref_id(ref_id).datasource(DATASOURCE)
    return q.instant() if instant else q.range()


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def _targets(panel: Panel, queries: list[prom.Dataquery]) -> None:
    for index, q in enumerate(queries):
        panel.with_target(q.ref_id(chr(ord("A") + index)))


def graph(title: str, description: str, unit: str, *queries: prom.Dataquery, width: int = 12) -> Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
        .fill_opacity(10)
        .legend(
            VizLegendOptions()
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    )
    _targets(panel, list(queries))
    return panel


def single(
    title: str,
    description: str,
    unit: str,
    q: prom.Dataquery,
    steps: tuple[tuple[float | None, str], ...] = ((None, GREEN),),
    width: int = 6,
) -> Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(5)
        .graph_mode(BigValueGraphMode.AREA)
        .color_mode(BigValueColorMode.BACKGROUND)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .thresholds(thresholds(*steps))
    )
    _targets(panel, [q])
    return panel


def bars(
    title: str,
    description: str,
    unit: str,
    *queries: prom.Dataquery,
    width: int = 12,
    steps: tuple[tuple[float | None, str], ...] = ((None, GREEN), (1, ORANGE), (10, RED)),
) -> Panel:
    panel = (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .thresholds(thresholds(*steps))
    )
    _targets(panel, list(queries))
    return panel


def _dashboard(uid: str, title: str, description: str, tags: list[str]) -> dash.Dashboard:
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["tranchewatch", *tags])
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
    )


# The contract v2 rules on trustee, servicer and rating reports, by what they watch.
PAYMENT_RULES = "missed_payment|support_drawn|distribution_overdue"
COLLATERAL_RULES = "coverage_shortfall|trigger_breach|reserve_shortfall|stressed_collateral"
RATING_RULES = "rating_downgrade"


def _firing(rules: str, severity: str | None = None) -> str:
    """Alerts of `rules` firing now. The gauge is read from the shared state, so each worker reports the
    same value: max per series across workers, then summed over rules (and severities). The gauge drops a
    rule's series when its last alert resolves, so none firing is `or vector(0)`: 0, not "No data"."""
    labels = f'rule=~"{rules}"' + (f', severity="{severity}"' if severity else "")
    return f"sum(max by (rule, severity) (tranchewatch_active_alerts{{{labels}}})) or vector(0)"


def credit_panels(board: dash.Dashboard) -> None:
    """Payments, collateral and ratings: the alerts a holder of ABS acts on first (contract v2)."""
    board.with_row(dash.Row("Payments, collateral and ratings"))
    for title, description, rules, colour in (
        (
            "Payment alerts firing",
            "Tranches with a distribution paid short (missed_payment, critical), topped up by a shortfall "
            "undertaking, guarantee or reserve (support_drawn) or not reported when due "
            "(distribution_overdue).",
            PAYMENT_RULES,
            RED,
        ),
        (
            "Collateral alerts firing",
            "Deals whose collections no longer cover debt service (coverage_shortfall), with a trigger "
            "breached (trigger_breach) or a reserve below its requirement (reserve_shortfall), and "
            "tranches below par on such a deal (stressed_collateral).",
            COLLATERAL_RULES,
            ORANGE,
        ),
        (
            "Rating alerts firing",
            "Tranches and issuers an agency rates below its first rating of them (rating_downgrade).",
            RATING_RULES,
            ORANGE,
        ),
    ):
        board.with_panel(
            single(
                title, description, "short", query(_firing(rules), instant=True), ((None, GREEN), (1, colour))
            )
        )
    board.with_panel(
        single(
            "Critical payment, collateral or rating alerts",
            "Of the three above, the alerts firing at critical severity.",
            "short",
            query(_firing(f"{PAYMENT_RULES}|{COLLATERAL_RULES}|{RATING_RULES}", "critical"), instant=True),
            ((None, GREEN), (1, RED)),
        )
    )
    for title, description, rules in (
        ("Payment alerts by rule", "Payment alerts firing now, by rule and severity.", PAYMENT_RULES),
        (
            "Collateral alerts by rule",
            "Collateral alerts firing now, by rule and severity.",
            COLLATERAL_RULES,
        ),
    ):
        board.with_panel(
            graph(
                title,
                description,
                "short",
                query(
                    f'max by (rule, severity) (tranchewatch_active_alerts{{rule=~"{rules}"}})',
                    "{{rule}} {{severity}}",
                ),
            )
        )
    board.with_panel(
        graph(
            "Rating downgrades firing",
            "Tranches and issuers downgraded now (rating_downgrade), and how many of them critically: "
            "three notches or more, or below A- after a downgrade.",
            "short",
            query(_firing(RATING_RULES), "downgraded"),
            query(_firing(RATING_RULES, "critical"), "critical"),
            width=24,
        )
    )


def market() -> dash.Dashboard:
    """What the market looks like through tranchewatch's rules: discounts, losses, issuance, alerts."""
    board = _dashboard(
        "tranchewatch-market",
        "tranchewatch · Market",
        "Price against par, issuer losses, issuance and the alerts firing now.",
        ["market"],
    )
    # Market gauges are read from the shared Redis state, so every worker reports the same value:
    # aggregate them with max, never sum, or two workers would double the market.
    board.with_row(dash.Row("Price against par"))
    board.with_panel(
        single(
            "Tranches below par: critical",
            "Tranches whose discount to par (100 - price) is at least the critical threshold (default 5).",
            "short",
            query('max(tranchewatch_tranches_below_par{severity="critical"})', instant=True),
            ((None, GREEN), (1, RED)),
        )
    )
    board.with_panel(
        single(
            "Tranches below par: warning",
            "Tranches whose discount to par is at least the warning threshold (default 2), "
            "short of critical.",
            "short",
            query('max(tranchewatch_tranches_below_par{severity="warning"})', instant=True),
            ((None, GREEN), (1, ORANGE)),
        )
    )
    board.with_panel(
        single(
            "Distressed tranches",
            "Tranches below par whose issuer's losses are widening at the same time (distressed_tranche).",
            "short",
            query('max(tranchewatch_active_alerts{rule="distressed_tranche"})', instant=True),
            ((None, GREEN), (1, RED)),
        )
    )
    board.with_panel(
        single(
            "Issuers with widening losses",
            "Issuers whose newest annualised net income is a loss that widened "
            "(issuer_loss_widening firing).",
            "short",
            query("max(tranchewatch_issuers_loss_widening)", instant=True),
            ((None, GREEN), (1, ORANGE)),
        )
    )
    board.with_panel(
        graph(
            "Tranches below par by severity",
            "Tranches with a firing below_par alert, by severity, over time.",
            "short",
            query("max by (severity) (tranchewatch_tranches_below_par)", "{{severity}}"),
        )
    )
    board.with_panel(
        graph(
            "Face value below par",
            "Face value of the tranches priced below par, by currency.",
            "short",
            query("max by (currency) (tranchewatch_face_value_below_par)", "{{currency}}"),
        )
    )
    board.with_panel(
        graph(
            "Deepest discounts (opt-in per-tranche series)",
            "The 10 tranches furthest below par. Empty unless the workers run with "
            "TRANCHEWATCH_PER_TRANCHE_METRICS=true, which exports one series per tranche.",
            "short",
            query("topk(10, max by (tranche_id) (tranchewatch_tranche_discount))", "{{tranche_id}}"),
        )
    )
    board.with_panel(
        graph(
            "Discount alerts firing",
            "Tranche alerts on price: below_par (discount to par), price_drop (fall from the 7-day high), "
            "distressed_tranche, stale_quote.",
            "short",
            query(
                "max by (rule, severity) (tranchewatch_active_alerts"
                '{rule=~"below_par|price_drop|distressed_tranche|stale_quote"})',
                "{{rule}} {{severity}}",
            ),
        )
    )
    board.with_panel(
        graph(
            "Issuer loss widening",
            "Issuers with widening losses now, and how often issuer_loss_widening fired or resolved.",
            "short",
            query("max(tranchewatch_issuers_loss_widening)", "issuers widening now"),
            query(
                "sum by (status) "
                '(increase(tranchewatch_alerts_total{rule="issuer_loss_widening"}[$__rate_interval]))',
                "{{status}}",
            ),
        )
    )
    credit_panels(board)
    board.with_row(dash.Row("Issuance"))
    board.with_panel(
        single(
            "Deals this year",
            "Distinct deals announced in the current calendar year (by announced_at).",
            "short",
            query("max(tranchewatch_deals_this_year)", instant=True),
            ((None, BLUE),),
        )
    )
    board.with_panel(
        single(
            "Record year",
            "The highest yearly count of distinct deals in any earlier year (stream or configured baseline).",
            "short",
            query("max(tranchewatch_deals_record_year)", instant=True),
            ((None, BLUE),),
        )
    )
    board.with_panel(
        single(
            "This year vs record",
            "Deals this year as a share of the record year; above 100% issuance_record fires.",
            "percentunit",
            query("max(tranchewatch_deals_this_year) / max(tranchewatch_deals_record_year)", instant=True),
            ((None, BLUE), (1, ORANGE)),
            width=12,
        )
    )
    board.with_panel(
        graph(
            "Deals this year against the record",
            "Running count of this year's deals against the record year.",
            "short",
            query("max(tranchewatch_deals_this_year)", "this year"),
            query("max(tranchewatch_deals_record_year)", "record"),
            width=24,
        )
    )
    board.with_row(dash.Row("Alerts"))
    board.with_panel(
        bars(
            "Active alerts by rule and severity",
            "Alerts firing now.",
            "short",
            query(
                "max by (rule, severity) (tranchewatch_active_alerts)",
                "{{rule}} · {{severity}}",
                instant=True,
            ),
        )
    )
    board.with_panel(
        graph(
            "Alerts fired",
            "New firing alert messages (including escalations), by rule.",
            "short",
            query(
                'sum by (rule) (increase(tranchewatch_alerts_total{status="firing"}[$__rate_interval]))',
                "{{rule}}",
            ),
        )
    )
    return board


def operations() -> dash.Dashboard:
    """How the workers are doing: throughput, latency, lag, errors, outbox, Redis."""
    board = _dashboard(
        "tranchewatch-operations",
        "tranchewatch · Operations",
        "Throughput, latency, consumer lag, dead letters, the notification outbox and Redis.",
        ["operations"],
    )
    board.with_row(dash.Row("Workers"))
    board.with_panel(
        single(
            "Workers up",
            "Worker replicas Prometheus scrapes successfully.",
            "short",
            query('sum(up{job="tranchewatch"})', instant=True),
            ((None, RED), (1, GREEN)),
        )
    )
    board.with_panel(
        single(
            "Workers ready",
            "Workers reporting ready (/readyz): connected to Kafka and Redis and consuming.",
            "short",
            query("sum(tranchewatch_worker_ready)", instant=True),
            ((None, RED), (1, GREEN)),
        )
    )
    board.with_panel(
        single(
            "Consumer lag",
            "Messages not yet consumed, all input topics.",
            "short",
            query("sum(topic:tranchewatch_consumer_lag:sum)", instant=True),
            ((None, GREEN), (1000, ORANGE), (10000, RED)),
        )
    )
    board.with_panel(
        single(
            "p99 processing latency",
            "99th percentile, arrival to end of handling, last 5 minutes.",
            "s",
            query("max(job:tranchewatch_processing_seconds:p99_5m)", instant=True),
            ((None, GREEN), (1, ORANGE), (5, RED)),
        )
    )
    board.with_row(dash.Row("Throughput and latency"))
    board.with_panel(
        graph(
            "Events per second by topic and outcome",
            "processed, invalid (dead-lettered) and duplicate (event_id seen before) events.",
            "ops",
            query("topic_outcome:tranchewatch_events:rate5m", "{{topic}} {{outcome}}"),
        )
    )
    board.with_panel(
        graph(
            "Processing latency",
            "From an event's arrival to the end of its handling.",
            "s",
            query("job:tranchewatch_processing_seconds:p50_5m", "p50"),
            query("job:tranchewatch_processing_seconds:p99_5m", "p99"),
            query("job:tranchewatch_processing_seconds:mean_5m", "mean"),
        )
    )
    board.with_panel(
        graph(
            "Rule evaluation time",
            "Time spent evaluating the rules for one event.",
            "s",
            query(
                "histogram_quantile(0.99, sum by (le) "
                "(rate(tranchewatch_rule_seconds_bucket[$__rate_interval])))",
                "p99",
            ),
            query(
                "histogram_quantile(0.50, sum by (le) "
                "(rate(tranchewatch_rule_seconds_bucket[$__rate_interval])))",
                "p50",
            ),
        )
    )
    board.with_panel(
        graph(
            "Batch size",
            "Events handled per batch.",
            "short",
            query(
                "histogram_quantile(0.50, sum by (le) "
                "(rate(tranchewatch_batch_size_bucket[$__rate_interval])))",
                "p50",
            ),
            query(
                "sum(rate(tranchewatch_batch_size_sum[$__rate_interval])) "
                "/ sum(rate(tranchewatch_batch_size_count[$__rate_interval]))",
                "mean",
            ),
        )
    )
    board.with_row(dash.Row("Consumer lag"))
    board.with_panel(
        graph(
            "Consumer lag by topic",
            "Messages between the consumer group's position and the high watermark, summed over partitions.",
            "short",
            query("topic:tranchewatch_consumer_lag:sum", "{{topic}}"),
        )
    )
    board.with_panel(
        graph(
            "Consumer lag by partition",
            "A single hot partition shows here before it shows in the sum.",
            "short",
            query("max by (topic, partition) (tranchewatch_consumer_lag)", "{{topic}}[{{partition}}]"),
        )
    )
    board.with_row(dash.Row("Errors"))
    board.with_panel(
        graph(
            "Dead letters by topic and reason",
            "Records sent to tranchewatch.deadletter.",
            "ops",
            query("topic_reason:tranchewatch_deadletters:rate5m", "{{topic}} {{reason}}"),
        )
    )
    board.with_panel(
        graph(
            "Redis errors and commit conflicts",
            "Failed Redis operations, and atomic commits retried after a concurrent write.",
            "ops",
            query("operation:tranchewatch_redis_errors:rate5m", "error {{operation}}"),
            query("sum(rate(tranchewatch_commit_conflicts_total[$__rate_interval]))", "commit conflicts"),
        )
    )
    board.with_row(dash.Row("Notifications"))
    board.with_panel(
        graph(
            "Notifications by sink and outcome",
            "sent, retried and failed deliveries to Slack, abs.alerts, Alertmanager and the log.",
            "ops",
            query("sink_outcome:tranchewatch_notifications:rate5m", "{{sink}} {{outcome}}"),
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Outbox depth",
            "Notifications waiting to be delivered, by sink.",
            "short",
            query("sum by (sink) (tranchewatch_outbox_depth)", "{{sink}}"),
            width=8,
        )
    )
    board.with_panel(
        graph(
            "Outbox oldest age",
            "Age of the oldest waiting notification; a line that keeps rising means a stuck sink.",
            "s",
            query("max by (sink) (tranchewatch_outbox_oldest_age_seconds)", "{{sink}}"),
            width=8,
        )
    )
    board.with_row(dash.Row("Redis"))
    board.with_panel(
        graph(
            "Redis latency",
            "State load and atomic commit round trips.",
            "s",
            query("operation:tranchewatch_redis_seconds:p99_5m", "p99 {{operation}}"),
            query(
                "histogram_quantile(0.50, sum by (operation, le) "
                "(rate(tranchewatch_redis_seconds_bucket[$__rate_interval])))",
                "p50 {{operation}}",
            ),
            width=24,
        )
    )
    return board


def _exposure_row(board: dash.Dashboard, group_by: str, title: str) -> None:
    """Outstanding principal and mark-to-market loss of one grouping, now and over time."""
    principal = f'max by (key) (tranchewatch_exposure_outstanding_principal{{group_by="{group_by}"}})'
    loss = f'max by (key) (tranchewatch_exposure_mark_to_market_loss{{group_by="{group_by}"}})'
    board.with_row(dash.Row(f"By {title}"))
    board.with_panel(
        bars(
            f"Outstanding principal by {title}",
            f"Face value x factor of the known tranches, by {title} (the configured keys or the largest "
            "TRANCHEWATCH_EXPOSURE_METRICS_TOP, the rest as other).",
            CNY,
            query(principal, "{{key}}", instant=True),
            steps=((None, BLUE),),
        )
    )
    board.with_panel(
        bars(
            f"Mark-to-market loss by {title}",
            f"Outstanding x (100 - newest clean price) / 100, by {title}.",
            CNY,
            query(loss, "{{key}}", instant=True),
            steps=((None, ORANGE),),
        )
    )
    board.with_panel(
        graph(
            f"Loss as a share of outstanding, by {title}",
            f"Mark-to-market loss over outstanding principal: how far below par the {title}'s paper trades.",
            "percentunit",
            query(f"{loss} / {principal}", "{{key}}"),
        )
    )
    board.with_panel(
        graph(
            f"Mark-to-market loss by {title} over time",
            "As refreshed every TRANCHEWATCH_EXPOSURE_METRICS_SECONDS (default 60 s).",
            CNY,
            query(loss, "{{key}}"),
        )
    )


def exposure() -> dash.Dashboard:
    """What the market holds and loses, by province and by asset type (GET /api/v1/exposures' figures)."""
    board = _dashboard(
        "tranchewatch-exposure",
        "tranchewatch · Exposure",
        "Outstanding principal and mark-to-market loss of the known tranches by province and asset type, "
        "at the stream's clock.",
        ["exposure"],
    )
    # Each worker exports the same figures from the shared state: max by key, then sum over the keys (the
    # named keys and `other` add up to the whole market).
    principal = 'sum(max by (key) (tranchewatch_exposure_outstanding_principal{group_by="province"}))'
    loss = 'sum(max by (key) (tranchewatch_exposure_mark_to_market_loss{group_by="province"}))'
    board.with_row(dash.Row("The whole market"))
    board.with_panel(
        single(
            "Outstanding principal",
            "Face value x factor at the stream's clock, every known tranche.",
            CNY,
            query(principal, instant=True),
            ((None, BLUE),),
        )
    )
    board.with_panel(
        single(
            "Mark-to-market loss",
            "Outstanding x (100 - newest clean price) / 100, every quoted tranche.",
            CNY,
            query(loss, instant=True),
            ((None, GREEN), (1, ORANGE)),
        )
    )
    board.with_panel(
        single(
            "Loss as a share of outstanding",
            "Mark-to-market loss over outstanding principal.",
            "percentunit",
            query(f"{loss} / {principal}", instant=True),
            ((None, GREEN), (0.02, ORANGE), (0.05, RED)),
        )
    )
    board.with_panel(
        single(
            "Refresh time",
            "How long the slowest worker's last exposure refresh took (reading every state document); "
            "keep it well under TRANCHEWATCH_EXPOSURE_METRICS_SECONDS.",
            "s",
            query("max(tranchewatch_exposure_refresh_seconds)", instant=True),
            ((None, GREEN), (5, ORANGE), (30, RED)),
        )
    )
    _exposure_row(board, "province", "province")
    _exposure_row(board, "asset_type", "asset type")
    return board


DASHBOARDS = {"market.json": market, "operations.json": operations, "exposure.json": exposure}


def render(name: str) -> str:
    """The JSON text of one dashboard, as committed."""
    built = json.loads(json.dumps(DASHBOARDS[name]().build(), cls=JSONEncoder))
    for panel_id, panel in enumerate(built["panels"], start=1):
        panel["id"] = panel_id  # stable ids keep links and Grafana's panel state from shifting
    return json.dumps(built, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail if a committed dashboard is stale")
    args = parser.parse_args(argv)
    stale = []
    for name in DASHBOARDS:
        path = DASHBOARD_DIR / name
        text = render(name)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}; run deploy/grafana/build_dashboards.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
