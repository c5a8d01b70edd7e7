"""Every metric the stream side exports, on one registry so tests can use a fresh one."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from alerts.metrics import AlertMetrics

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics(AlertMetrics):
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry or CollectorRegistry())
        r = self.registry
        self.events = Counter(
            "tranchewatch_events", "Input events by outcome.", ["topic", "outcome"], registry=r
        )
        self.deadletters = Counter(
            "tranchewatch_deadletters",
            "Events sent to the dead-letter topic.",
            ["topic", "reason"],
            registry=r,
        )
        self.processing = Histogram(
            "tranchewatch_processing_seconds",
            "From an event's arrival to the end of its handling (state committed).",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "tranchewatch_batch_size",
            "Events handled per batch.",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000),
            registry=r,
        )
        self.redis_errors = Counter(
            "tranchewatch_redis_errors", "Redis calls that failed.", ["operation"], registry=r
        )
        self.redis_seconds = Histogram(
            "tranchewatch_redis_seconds",
            "Redis round trips.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.commit_conflicts = Counter(
            "tranchewatch_commit_conflicts",
            "Batch commits retried because state changed under them.",
            registry=r,
        )
        self.rule_seconds = Histogram(
            "tranchewatch_rule_seconds",
            "Applying a batch's events and evaluating rules.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "tranchewatch_consumer_lag",
            "Messages between the last committed offset and the partition's high watermark.",
            ["topic", "partition"],
            registry=r,
        )
        self.tranches_below_par = Gauge(
            "tranchewatch_tranches_below_par",
            "Tranches with a firing below_par alert.",
            ["severity"],
            registry=r,
        )
        self.face_value_below_par = Gauge(
            "tranchewatch_face_value_below_par",
            "Face value of the tranches with a firing below_par alert, in currency units.",
            ["currency"],
            registry=r,
        )
        self.issuers_loss_widening = Gauge(
            "tranchewatch_issuers_loss_widening",
            "Issuers with a firing issuer_loss_widening alert.",
            registry=r,
        )
        self.deals_this_year = Gauge(
            "tranchewatch_deals_this_year",
            "Distinct deals announced in the newest calendar year of the stream's event time.",
            registry=r,
        )
        self.deals_record_year = Gauge(
            "tranchewatch_deals_record_year",
            "Highest count of distinct deals in any earlier calendar year (stream or baseline).",
            registry=r,
        )
        self.tranche_discount = Gauge(
            "tranchewatch_tranche_discount",
            "Discount to par of each quoted tranche (only with TRANCHEWATCH_PER_TRANCHE_METRICS=true).",
            ["tranche_id"],
            registry=r,
        )
        # Exposures (streams/views/exposures.py, as GET /api/v1/exposures): group_by is province or asset_type,
        # key the configured keys or the top N by outstanding principal, plus `other` for the rest.
        self.exposure_outstanding_principal = Gauge(
            "tranchewatch_exposure_outstanding_principal",
            "Outstanding principal (face value x factor at the stream's clock) of the known tranches, by "
            "province or asset type, in currency units (CNY); keys beyond the configured or top N are summed "
            "as other.",
            ["group_by", "key"],
            registry=r,
        )
        self.exposure_mark_to_market_loss = Gauge(
            "tranchewatch_exposure_mark_to_market_loss",
            "Mark-to-market loss (outstanding x (100 - newest clean price) / 100) of the known tranches, by "
            "province or asset type, in currency units (CNY); keys beyond the configured or top N are summed "
            "as other.",
            ["group_by", "key"],
            registry=r,
        )
        self.exposure_refresh_seconds = Gauge(
            "tranchewatch_exposure_refresh_seconds",
            "How long the last refresh of the exposure gauges took: reading every state document and "
            "summing (TRANCHEWATCH_EXPOSURE_METRICS_SECONDS apart).",
            registry=r,
        )
        self.redis_eviction_policy = Gauge(
            "tranchewatch_redis_eviction_policy",
            "1 for Redis's maxmemory-policy as last read (source: config, info or unknown); anything but "
            "noeviction can drop state.",
            ["policy", "source"],
            registry=r,
        )
        self.state_blocked = Gauge(
            "tranchewatch_state_blocked",
            "1 while state commits are stopped for this reason (redis_policy, state_lost); input waits.",
            ["reason"],
            registry=r,
        )
        # The positions file (README, Holdings): a refused SIGHUP reload leaves the old positions in force,
        # which only the log would say otherwise.
        self.positions_refused = Gauge(
            "tranchewatch_positions_refused",
            "1 while the positions file's last reload was refused (invalid; the previous positions stay in "
            "force), 0 once a reload loads.",
            registry=r,
        )
        self.fetch_errors = Counter(
            "tranchewatch_fetch_errors",
            "Failed attempts to fetch or decode a partition's records, by topic and kind (the partition is "
            "held and retried; nothing is skipped).",
            ["topic", "kind"],
            registry=r,
        )
        self.worker_ready = Gauge(
            "tranchewatch_worker_ready",
            "1 when /readyz has no reason not to be ready (partitions assigned, Redis answers, records read).",
            registry=r,
        )
