"""The labels routes, silences and inhibition match on: the alert's own, plus what its subject's state
knows (province, asset type, programme), looked up at notification time through a LabelSource."""

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
