"""A log line per notice: the sink that always works, and what the demo prints."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from alerts.core.model import Alert
from alerts.notify.templates import headline, held

log = logging.getLogger("tranchewatch.alerts")


class LogSink:
    name = "log"
    min_interval_seconds = 0.0

    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        for alert in alerts:  # a line each: a log has no grouped message
            holdings = held(alert)  # what the configured portfolios hold of it, as Slack says it
            log.warning(
                "ALERT %s%s (fingerprint %s, event time %s)",
                headline(alert),
                f"; {holdings}" if holdings else "",
                alert.fingerprint,
                alert.event_time.isoformat(),
            )

    async def digest(self, title: str, alerts: Sequence[Alert]) -> None:
        log.warning("DIGEST %s", title)
        for alert in alerts:
            log.warning("DIGEST   %s", headline(alert))

    async def close(self) -> None:
        return None
