"""Gauges read from shared state every few seconds: what is firing, the market at a glance, consumer lag.

They come from Redis rather than from this process's memory so that every worker reports the same
market figures, whichever partitions it holds.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from redis.asyncio import Redis

from alerts.keys import AlertKeys
from streams.metrics import Metrics
from streams.rules.issuance_record import best_earlier_year
from streams.rules.registry import RulesConfig
from streams.settings import Settings
from streams.state.reader import StateReader
from streams.views.exposures import GroupBy, Money, bounded, exposures
from streams.views.scan import MarketScan
from streams.views.watchlist import MarketView


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def refresh_market_gauges(redis: Redis, prefix: str, metrics: Metrics, rules: RulesConfig) -> None:
    active: dict[Any, Any] = await redis.hgetall(AlertKeys(prefix).active)
    by_rule: dict[tuple[str, str], list[str]] = {}
    for fingerprint, value in active.items():
        rule, _, severity = _text(value).partition("|")
        by_rule.setdefault((rule, severity), []).append(_text(fingerprint))
    metrics.active_alerts.clear()
    for (rule, severity), fps in by_rule.items():
        metrics.active_alerts.labels(rule, severity).set(len(fps))
    for severity in ("warning", "critical"):
        metrics.tranches_below_par.labels(severity).set(len(by_rule.get(("below_par", severity), [])))
    metrics.issuers_loss_widening.set(
        sum(len(v) for (r, _), v in by_rule.items() if r == "issuer_loss_widening")
    )
    await _face_value_below_par(redis, prefix, metrics, by_rule)
    await _deal_counts(redis, prefix, metrics, rules)


async def _face_value_below_par(
    redis: Redis, prefix: str, metrics: Metrics, by_rule: dict[tuple[str, str], list[str]]
) -> None:
    fps = [fp for (rule, _), v in by_rule.items() if rule == "below_par" for fp in v]
    totals: dict[str, float] = {}
    if fps:
        rows: list[Any] = await redis.hmget(AlertKeys(prefix).latest, fps)
        for row in rows:
            if row is None:
                continue
            evidence = json.loads(row).get("evidence", {})
            currency = str(evidence.get("currency", "CNY"))
            totals[currency] = totals.get(currency, 0.0) + float(evidence.get("face_value", 0.0))
    metrics.face_value_below_par.clear()
    for currency, total in totals.items():
        metrics.face_value_below_par.labels(currency).set(total)


async def _deal_counts(redis: Redis, prefix: str, metrics: Metrics, rules: RulesConfig) -> None:
    market = await StateReader(redis, prefix).market()
    if not market.deal_counts:
        return
    year = max(int(y) for y in market.deal_counts)
    metrics.deals_this_year.set(market.deal_counts[str(year)])
    best = best_earlier_year(market, year, rules.issuance_record)
    metrics.deals_record_year.set(best[1] if best else 0)


async def refresh_lag(consumer: Any, metrics: Metrics) -> None:
    """Committed lag: what is not yet processed and committed, per assigned partition."""
    committed = getattr(consumer, "_committed_offset", {})
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is None:
            continue
        done = committed.get(tp)
        metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(max(0, int(high) - int(done or 0)))


async def refresh_tranche_discounts(redis: Redis, prefix: str, metrics: Metrics) -> None:
    """Opt-in (TRANCHEWATCH_PER_TRANCHE_METRICS): one series per quoted tranche, read by a full scan of the
    tranche documents — O(tranches) per refresh and one series each in Prometheus, hence off by default."""
    documents = await StateReader(redis, prefix).raw_documents("tranche")
    # Decoded in a thread, as the other reads of every document are (streams/views/scan.py): thousands of
    # documents every 2 s would otherwise hold the event loop.
    discounts = await asyncio.to_thread(_discounts, documents)
    metrics.tranche_discount.clear()  # cleared and set with no await between: no scrape sees a half
    for tranche_id, discount in discounts.items():
        metrics.tranche_discount.labels(tranche_id).set(discount)


def _discounts(documents: dict[str, bytes]) -> dict[str, float]:
    found: dict[str, float] = {}
    for raw in documents.values():
        doc = json.loads(raw)
        quote = doc.get("last_quote")
        if quote:
            found[doc["tranche_id"]] = round(100.0 - float(quote["price"]), 10)
    return found


def _listed(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


async def refresh_exposure_gauges(scan: MarketScan, settings: Settings, metrics: Metrics) -> None:
    """Outstanding principal and mark-to-market loss by province and by asset type, from the very rows
    GET /api/v1/exposures serves (streams/views/exposures.py), bounded to the configured or top N keys plus
    `other`. One read of every state document per refresh, O(tranches): hence its own, slower cadence
    (TRANCHEWATCH_EXPOSURE_METRICS_SECONDS), nothing computed when Prometheus scrapes, and the parsing and
    summing (seconds of CPU at 15,000 tranches; BENCHMARKS.md) in a thread, so the event loop keeps
    handling events and answering /healthz meanwhile: through the worker's MarketScan, the path and the gate
    the HTTP reads of the whole market take (streams/views/scan.py), so a refresh never overlaps one."""
    started = time.perf_counter()
    figures = await scan.run(("exposure-gauges",), lambda view: _exposure_figures(view, settings))
    # Cleared and set with no await between: a scrape sees the old set or the new one, never a mix, and a
    # key that left the top N leaves no stale series behind.
    metrics.exposure_outstanding_principal.clear()
    metrics.exposure_mark_to_market_loss.clear()
    for group_by, rows in figures.items():
        for key, money in rows.items():
            metrics.exposure_outstanding_principal.labels(group_by, key).set(money.outstanding_principal)
            metrics.exposure_mark_to_market_loss.labels(group_by, key).set(money.mark_to_market_loss)
    metrics.exposure_refresh_seconds.set(time.perf_counter() - started)


def _exposure_figures(view: MarketView, settings: Settings) -> dict[GroupBy, dict[str, Money]]:
    configured: dict[GroupBy, tuple[str, ...]] = {
        "province": _listed(settings.exposure_metrics_provinces),
        "asset_type": _listed(settings.exposure_metrics_asset_types),
    }
    return {
        group_by: bounded(exposures(view, group_by), settings.exposure_metrics_top, keys)
        for group_by, keys in configured.items()
    }
