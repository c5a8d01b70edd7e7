"""The state store in process memory: same contract as RedisStore, for replays and unit tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from alerts.core.model import Alert
from streams.state.keys import tranche_key
from streams.state.progress import NONE
from streams.state.snapshot import Commit

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # the event time of an id committed without one


class MemoryStore:
    unavailable_errors: tuple[type[Exception], ...] = (OSError,)  # only what a test injects

    def __init__(self) -> None:
        self.documents: dict[str, tuple[int, bytes]] = {}
        self.seen_ids: dict[str, dict[str, dt.datetime]] = {}  # topic -> event id -> event time
        self.outbox: list[Alert] = []
        self.event_clock: dt.datetime | None = None
        self.watching: dict[str, dt.datetime] = {}  # stale_quote's index: tranche id -> filed under
        self.overdue: dict[str, dt.datetime] = {}  # distribution_overdue's index: tranche id -> due date
        self.maturing: dict[str, dt.datetime] = {}  # outstanding tranches: tranche id -> maturity
        self.prices: dict[str, dict[str, tuple[dt.datetime, float]]] = {}  # tranche -> event id -> point
        self.offsets: dict[tuple[str, int], int] = {}  # streams/state/progress.py

    async def load(
        self, keys: Iterable[str], known: Mapping[str, int] | None = None
    ) -> dict[str, tuple[int, bytes | None]]:
        return {key: self.documents.get(key, (0, None)) for key in keys}

    async def seen(self, topic: str, event_ids: Iterable[str]) -> set[str]:
        known = self.seen_ids.get(topic, {})
        return {e for e in event_ids if e in known}

    async def positions(self, parts: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        return {tp: self.offsets.get(tp, NONE) for tp in parts}

    async def confirm(self) -> None:
        return None

    async def forgotten_before(self, topic: str, retention: dt.timedelta) -> dt.datetime | None:
        ids = self.seen_ids.get(topic)
        return max(ids.values()) - retention if ids else None

    async def clock(self) -> dt.datetime | None:
        return self.event_clock

    async def watched_before(self, before: dt.datetime) -> list[str]:
        return sorted(t for t, at in self.watching.items() if at < before)

    async def due_before(self, before: dt.datetime) -> list[str]:
        return sorted(t for t, at in self.overdue.items() if at < before)

    async def maturing_before(self, until: dt.datetime) -> list[str]:
        return sorted(t for t, at in self.maturing.items() if at <= until)

    async def commit(self, commit: Commit) -> bool:
        for key, version in commit.expected.items():
            if self.documents.get(key, (0, b""))[0] != version:
                return False
        if any(event_id in self.seen_ids.get(topic, {}) for topic, event_id in commit.seen):
            return False
        if not self._index_holds(commit):
            return False
        if any(self.offsets.get(tp, NONE) != off for tp, off in commit.loaded_positions.items()):
            return False
        for key, body in commit.documents.items():
            self.documents[key] = (self.documents.get(key, (0, b""))[0] + 1, body)
        for tranche_id, at in commit.watching.items():
            if at is None:
                self.watching.pop(tranche_id, None)
            else:
                self.watching[tranche_id] = at
        for tranche_id, due in commit.overdue.items():
            if due is None:
                self.overdue.pop(tranche_id, None)
            else:
                self.overdue[tranche_id] = due
        for tranche_id, at in commit.maturing.items():
            if at is None:
                self.maturing.pop(tranche_id, None)
            else:
                self.maturing[tranche_id] = at
        if commit.clock is not None and (self.event_clock is None or commit.clock > self.event_clock):
            self.event_clock = commit.clock
        for topic, event_id in commit.seen:
            at = commit.seen_at.get((topic, event_id), EPOCH)
            self.seen_ids.setdefault(topic, {})[event_id] = at
        if commit.retention is not None:  # the commit script's trim: ids older than newest - retention go
            for topic in {topic for topic, _ in commit.seen}:
                ids = self.seen_ids[topic]
                horizon = max(ids.values()) - commit.retention
                self.seen_ids[topic] = {e: at for e, at in ids.items() if at >= horizon}
        self.outbox.extend(commit.notices)
        for tranche_id, mark in commit.prices:
            self.prices.setdefault(tranche_id, {})[mark.event_id] = (mark.ts, mark.clean_price)
        for tranche_id in commit.retired:
            self.prices.pop(tranche_id, None)
        for tp, offset in commit.positions.items():
            self.offsets[tp] = max(offset, self.offsets.get(tp, NONE))
        return True

    def _index_holds(self, commit: Commit) -> bool:
        """The stale_quote and distribution_overdue checks of RedisStore's commit script."""
        clock = self.event_clock
        if commit.filed_overdue_from is not None and clock is not None and clock >= commit.filed_overdue_from:
            return False
        for index, before in (
            (self.watching, commit.judged_before),
            (self.overdue, commit.overdue_judged_before),
        ):
            if before is not None and not all(
                tranche_key(t) in commit.expected for t, at in index.items() if at < before
            ):
                return False
        return True
