"""The state documents this worker last read or wrote, with their versions, so that a batch fetches and
decodes only the documents that changed since.

Redis stays the truth: every load still asks Redis for each document's version (one Lua call), and a
cached copy is used only when its version is the current one; the commit's version check is unchanged.
Every document is kept as the decoded object: one this worker committed is the very object it serialised
(it equals what Redis holds); one it only read is unchanged, since the rules change a document only
together with `Snapshot.touch`, which writes it (checked in tests: streams/state/snapshot.py, CHECK_UNTOUCHED_ENV).
So an issuer read as the neighbour of every quoted tranche is decoded once, not once per batch.
An entry is taken out while a batch works on it and put back only after that batch commits, so a
conflict, an error or a crash never leaves a half-applied document in the cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(slots=True)
class Cached:
    version: int
    document: BaseModel  # equals the document Redis holds at `version`


class StateCache:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, Cached] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def versions(self, keys: Iterable[str]) -> dict[str, int]:
        entries = self._entries
        return {key: entries[key].version for key in keys if key in entries}

    def peek(self, key: str) -> BaseModel | None:
        """The object under `key`, if any, without taking it (to plan which keys to load)."""
        entry = self._entries.get(key)
        return entry.document if entry is not None else None

    def take(self, key: str, version: int) -> Cached | None:
        entry = self._entries.pop(key, None)
        if entry is None or entry.version != version:
            return None
        return entry

    def put(self, key: str, entry: Cached) -> None:
        if self.max_entries <= 0:
            return
        self._entries.pop(key, None)  # re-insert: the dict's order is the eviction order
        self._entries[key] = entry
        while len(self._entries) > self.max_entries:
            del self._entries[next(iter(self._entries))]

    def clear(self) -> None:
        self._entries.clear()
