"""The in-memory index behind stale_quote and distribution_overdue: tranches filed by the instant from which
the event-time clock can make them overdue, so a batch finds them by a prefix, not by a scan.

Each rule decides where a tranche is filed (its `watched_at`); filing, unfiling and taking out the overdue
prefix are the same for both and live here.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import KeysView
from dataclasses import dataclass, field

Entry = tuple[dt.datetime, str]  # (filed at, tranche id): the index's order


@dataclass(slots=True, eq=False)
class Index:
    """The tranches one batch can make overdue, sorted by (filed at, tranche id).

    `below` is the cutoff of the batch's final clock when the load knows it: the clock only moves forward
    within a batch, so a tranche filed at or after it cannot become overdue before the batch ends, and is
    left out (the commit files it from its document). None: every tranche is kept. `ids` holds the tranche
    ids in `entries`, so the usual event, on a tranche not in the index, costs a set lookup, not a bisect."""

    below: dt.datetime | None = None
    entries: list[Entry] = field(default_factory=list)
    filed: dict[str, dt.datetime] = field(default_factory=dict)  # tranche id -> where it is filed

    @property
    def ids(self) -> KeysView[str]:
        return self.filed.keys()


def file(index: Index, tranche_id: str, at: dt.datetime | None) -> None:
    """Files the tranche at `at`, unless it is not watched (None) or the batch cannot reach it."""
    if at is None or (index.below is not None and at >= index.below):
        return
    bisect.insort(index.entries, (at, tranche_id))
    index.filed[tranche_id] = at


def unwatch(index: Index, tranche_id: str) -> None:
    """Removes the tranche's entry, if it is filed."""
    at_key = index.filed.pop(tranche_id, None)
    if at_key is None:
        return
    entries = index.entries
    at = bisect.bisect_left(entries, (at_key, tranche_id))
    if at < len(entries) and entries[at] == (at_key, tranche_id):
        del entries[at]


def overdue(index: Index, before: dt.datetime) -> list[str]:
    """Takes out the tranches filed before `before`: a prefix of the index."""
    entries = index.entries
    if not entries or entries[0][0] >= before:
        return []
    # (before,) sorts after every entry filed before `before` and before every entry filed at it.
    end = bisect.bisect_left(entries, (before,))
    taken = [tranche_id for _, tranche_id in entries[:end]]
    del entries[:end]
    for tranche_id in taken:
        del index.filed[tranche_id]
    return taken
