"""The notification pipeline for one receiver and one batch of the outbox, Alertmanager's stages in order:

    route → inhibit → silence → ack → dedup (nflog) → group

and then the Sender retries and sends each group and writes the nflog. Each stage is its own module
(routing, inhibit, silence, ack, nflog, group); this one only chains them and says why a notice was held.
Resolutions pass every mute: whoever was paged, or would have been, hears that it ended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from alerts.ack import AckStore
from alerts.group import Entry, Group, group_entries
from alerts.inhibit import Inhibitor
from alerts.labels import Labels, LabelSource, OwnLabels
from alerts.model import Alert
from alerts.nflog import NotificationLog
from alerts.routing import RoutingConfig
from alerts.silence import SilenceStore


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class Plan:
    groups: list[Group] = field(default_factory=list)
    muted: list[tuple[Alert, str]] = field(default_factory=list)  # and why
    already_sent: int = 0


@dataclass
class NotifyPipeline:
    routing: RoutingConfig
    nflog: NotificationLog
    inhibitor: Inhibitor
    silences: SilenceStore
    acks: AckStore
    labels: LabelSource = field(default_factory=OwnLabels)
    clock: Callable[[], dt.datetime] = utcnow
    max_group_size: int = 20

    async def plan(self, receiver: str, batch: Sequence[tuple[str, Alert]]) -> Plan:
        plan = Plan()
        entries: list[Entry] = []
        mutable = self.routing.receivers[receiver].honour_mutes
        for entry_id, alert in batch:
            labels = await self.labels.labels(alert)
            route = self.routing.route_to(receiver, labels)
            if route is None:
                continue
            reason = await self.mute_reason(alert, labels) if mutable else None
            if reason is not None:
                plan.muted.append((alert, reason))
                continue
            entries.append(Entry(entry_id, alert, labels, tuple(route.group_by)))
        unsent = await self.nflog.unsent(receiver, [e.alert for e in entries])
        fresh = [e for e, new in zip(entries, unsent, strict=True) if new]
        plan.already_sent = len(entries) - len(fresh)
        plan.groups = group_entries(fresh, self.max_group_size)
        return plan

    async def mute_reason(self, alert: Alert, labels: Labels) -> str | None:
        if alert.status == "resolved":
            return None
        source = await self.inhibitor.inhibiting(alert)
        if source is not None:
            return f"inhibited by {source.rule} {source.fingerprint}"
        silence = await self.silences.muting(alert, labels, self.clock())
        if silence is not None:
            return f"silenced by {silence.id} ({silence.created_by}: {silence.comment})"
        ack = await self.acks.covering(alert)
        if ack is not None:
            return f"acknowledged by {ack.by}"
        return None

    def group_wait_seconds(self, receiver: str) -> float:
        return max((r.group_wait_seconds for r in self.routing.routes if r.receiver == receiver), default=0.0)
