"""The labels routes, silences and inhibition match on: the alert's own, plus what its subject's state
knows (province, asset type, programme, the issuer's credit family, the portfolios holding it), looked up at
notification time through a LabelSource.

`portfolio` is the one label with several values: every portfolio holding the subject (TRANCHEWATCH_POSITIONS_FILE),
sorted and joined with commas (a portfolio's name has none). Routing takes each value in turn (`variants`):
an alert on a tranche that two funds hold is routed as if it were one alert per fund, so it reaches both
funds' routes whatever `continue` says, and each receiver's notice carries the one portfolio it was routed
by (a silence or grouping on `portfolio=fund-a` applies to fund-a's notice only)."""

from __future__ import annotations

from typing import Protocol

from alerts.core.model import Alert

Labels = dict[str, str]


def alert_labels(alert: Alert) -> Labels:
    s = alert.subject
    labels = {
        "rule": alert.rule,
        "severity": alert.severity,
        "status": alert.status,
        "tranche": s.tranche_id or "",
        "issuer": s.issuer_id or "",
        "deal": s.deal_id or "",
        "year": str(s.year) if s.year is not None else "",
        "entity": s.entity_id or "",
    }
    return {k: v for k, v in labels.items() if v}


class LabelSource(Protocol):
    async def labels(self, alert: Alert) -> Labels: ...


class OwnLabels:
    """Only what the alert itself carries: for tests and for receivers that match on nothing else."""

    async def labels(self, alert: Alert) -> Labels:
        return alert_labels(alert)


MULTI_VALUED = "portfolio"  # the label that may hold several values, comma-joined


def variants(labels: Labels) -> list[Labels]:
    """One label set per value of the multi-valued label (itself when it has at most one value)."""
    values = labels.get(MULTI_VALUED, "")
    if "," not in values:
        return [labels]
    return [{**labels, MULTI_VALUED: value} for value in values.split(",") if value]
