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

from alerts.core.labels import LabelSource, OwnLabels
from alerts.core.model import Alert
from alerts.delivery.nflog import NotificationLog
from alerts.mute.ack import AckStore
from alerts.mute.inhibit import Inhibitor
from alerts.mute.silence import SilenceStore, first_muting
from alerts.routing.group import Entry, Group, group_entries
from alerts.routing.routes import RoutingConfig


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
        routed: list[Entry] = []
        for entry_id, alert in batch:
            found = self.routing.routed(receiver, await self.labels.labels(alert))
            if found is not None:  # with the labels it was routed by: one portfolio's, when several hold it
                route, labels = found
                routed.append(Entry(entry_id, alert, labels, tuple(route.group_by)))
        mutable = self.routing.receivers[receiver].honour_mutes
        reasons = await self.mute_reasons(routed) if mutable else [None] * len(routed)
        entries: list[Entry] = []
        for entry, reason in zip(routed, reasons, strict=True):
            if reason is not None:
                plan.muted.append((entry.alert, reason))
            else:
                entries.append(entry)
        unsent = await self.nflog.unsent(receiver, [e.alert for e in entries])
        fresh = [e for e, new in zip(entries, unsent, strict=True) if new]
        plan.already_sent = len(entries) - len(fresh)
        plan.groups = group_entries(fresh, self.max_group_size)
        return plan

    async def mute_reasons(self, entries: Sequence[Entry]) -> list[str | None]:
        """Why each notice is held, if it is: inhibition, then a silence, then an acknowledgement. Each
        store is read once for the batch; per notice, a storm of 500 cost ~1,500 Redis round trips."""
        firing = [i for i, e in enumerate(entries) if e.alert.status == "firing"]  # resolutions pass
        alerts = [entries[i].alert for i in firing]
        sources = await self.inhibitor.inhibiting_each(alerts)
        silences = await self.silences.all() if firing else []
        acks = await self.acks.covering_each(alerts)
        now = self.clock()
        reasons: list[str | None] = [None] * len(entries)
        for i, source, ack in zip(firing, sources, acks, strict=True):
            silence = first_muting(silences, entries[i].alert, entries[i].labels, now)
            if source is not None:
                reasons[i] = f"inhibited by {source.rule} {source.fingerprint}"
            elif silence is not None:
                reasons[i] = f"silenced by {silence.id} ({silence.created_by}: {silence.comment})"
            elif ack is not None:
                reasons[i] = f"acknowledged by {ack.by}"
        return reasons

    def group_wait_seconds(self, receiver: str) -> float:
        return max((r.group_wait_seconds for r in self.routing.routes if r.receiver == receiver), default=0.0)
