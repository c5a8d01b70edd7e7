"""The state store in process memory: same contract as RedisStore, for replays and unit tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from alerts.model import Alert
from streams.snapshot import Commit


class MemoryStore:
    def __init__(self) -> None:
        self.documents: dict[str, tuple[int, bytes]] = {}
        self.seen_ids: dict[str, set[str]] = {}
        self.outbox: list[Alert] = []

    async def load(
        self, keys: Iterable[str], known: Mapping[str, int] | None = None
    ) -> dict[str, tuple[int, bytes | None]]:
        return {key: self.documents.get(key, (0, None)) for key in keys}

    async def seen(self, topic: str, event_ids: Iterable[str]) -> set[str]:
        known = self.seen_ids.get(topic, set())
        return {e for e in event_ids if e in known}

    async def commit(self, commit: Commit) -> bool:
        for key, version in commit.expected.items():
            if self.documents.get(key, (0, b""))[0] != version:
                return False
        if any(event_id in self.seen_ids.get(topic, set()) for topic, event_id in commit.seen):
            return False
        for key, body in commit.documents.items():
            self.documents[key] = (self.documents.get(key, (0, b""))[0] + 1, body)
        for topic, event_id in commit.seen:
            self.seen_ids.setdefault(topic, set()).add(event_id)
        self.outbox.extend(commit.notices)
        return True
