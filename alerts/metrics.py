"""Metrics of the alert side: what fired, what is active, what reached each sink."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.alerts = Counter(
            "tranchewatch_alerts", "Alert transitions.", ["rule", "severity", "status"], registry=registry
        )
        self.active_alerts = Gauge(
            "tranchewatch_active_alerts", "Alerts firing now.", ["rule", "severity"], registry=registry
        )
        self.notifications = Counter(
            "tranchewatch_notifications",
            "Delivery attempts by sink and outcome.",
            ["sink", "outcome"],
            registry=registry,
        )
        self.outbox_depth = Gauge(
            "tranchewatch_outbox_depth", "Notices waiting for a sink.", ["sink"], registry=registry
        )
        self.outbox_oldest_age = Gauge(
            "tranchewatch_outbox_oldest_age_seconds",
            "Age of the oldest notice waiting for a sink.",
            ["sink"],
            registry=registry,
        )
