"""When a matured tranche retires, and the in-memory index one batch uses to find the tranches its clock retires.

A tranche retires once the stream's event-time clock (stale_quote's: the newest quote time committed, never
the wall clock, so a replay retires the same way) reaches midnight, China time, of its maturity date plus the
grace (TRANCHEWATCH_RETIRE_AFTER_DAYS). Redis keeps the outstanding tranches in a sorted set scored by that
midnight (`StateKeys.maturing`), not by the retirement instant, so a change of the grace applies to every
tranche at once. The engine does the retiring (streams/engine/retire.py).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

from alerts.core.china import CHINA_TIME
from streams.model.state import TrancheState

DEFAULT_GRACE = dt.timedelta(days=30)


@lru_cache(maxsize=4096)
def matures_at(maturity: dt.date) -> dt.datetime:
    """Midnight, China time, of the maturity date: what the index is scored by."""
    return dt.datetime.combine(maturity, dt.time(0), CHINA_TIME)


def maturing_at(tranche: TrancheState) -> dt.datetime | None:
    """Where the tranche is filed in the index: its maturity, while it has terms and is not retired."""
    if tranche.retired is not None or tranche.terms is None:
        return None
    return matures_at(tranche.terms.maturity_date)


def retires_at(maturity: dt.date, grace: dt.timedelta) -> dt.datetime:
    return matures_at(maturity) + grace


@dataclass(slots=True, eq=False)
class MaturityIndex:
    """The tranches of one batch that may retire before it ends, sorted by (maturity, tranche id)."""

    entries: list[tuple[dt.datetime, str]] = field(default_factory=list)
    filed: dict[str, dt.datetime] = field(default_factory=dict)  # tranche id -> where it is filed


def file(index: MaturityIndex, tranche: TrancheState) -> None:
    """(Re-)files the tranche under its maturity, or takes it out (retired, or no terms)."""
    tranche_id = tranche.tranche_id
    old = index.filed.pop(tranche_id, None)
    if old is not None:
        at = bisect.bisect_left(index.entries, (old, tranche_id))
        if at < len(index.entries) and index.entries[at] == (old, tranche_id):
            del index.entries[at]
    new = maturing_at(tranche)
    if new is not None:
        bisect.insort(index.entries, (new, tranche_id))
        index.filed[tranche_id] = new


def due(index: MaturityIndex, clock: dt.datetime, grace: dt.timedelta) -> list[str]:
    """Takes out the tranches the clock retires (maturity + grace at or before it): a prefix of the index."""
    entries = index.entries
    horizon = clock - grace
    if not entries or entries[0][0] > horizon:
        return []
    end = bisect.bisect_right(entries, (horizon, "\U0010ffff"))
    taken = [tranche_id for _, tranche_id in entries[:end]]
    del entries[:end]
    for tranche_id in taken:
        del index.filed[tranche_id]
    return taken
