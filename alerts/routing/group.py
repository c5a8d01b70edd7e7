"""Grouping: notices for one receiver that share the route's group_by labels become one message, so a storm
of tranche alerts of one issuer reads as one message listing them. Pure; order is kept within and across
groups (a group goes out at the position of its first notice), so each incident's notices stay in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from alerts.core.labels import Labels
from alerts.core.model import Alert


@dataclass(frozen=True, slots=True)
class Entry:
    entry_id: str
    alert: Alert
    labels: Labels
    group_by: tuple[str, ...] = ()  # of the route that chose this receiver


@dataclass(slots=True)
class Group:
    key: tuple[str, ...]
    entries: list[Entry] = field(default_factory=list)

    @property
    def alerts(self) -> list[Alert]:
        return [e.alert for e in self.entries]

    @property
    def title(self) -> str:
        """`issuer wuhan-bus`: what the members share, for the message header."""
        first = self.entries[0]
        return ", ".join(f"{n} {first.labels[n]}" for n in first.group_by if first.labels.get(n))


def group_entries(entries: Sequence[Entry], max_size: int = 20) -> list[Group]:
    """An entry without group_by is a group of its own. A group past max_size starts a new one (Slack's
    block limits)."""
    groups: list[Group] = []
    open_groups: dict[tuple[str, ...], Group] = {}
    for entry in entries:
        if not entry.group_by:
            groups.append(Group((entry.alert.fingerprint,), [entry]))
            continue
        key = entry.group_by + tuple(entry.labels.get(name, "") for name in entry.group_by)
        group = open_groups.get(key)
        if group is None or len(group.entries) >= max_size:
            group = Group(key)
            open_groups[key] = group
            groups.append(group)
        group.entries.append(entry)
    return groups
