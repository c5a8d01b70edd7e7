"""The slice of state one batch needs, loaded in a few pipelined round trips and committed in one.

A snapshot remembers the version of every document it read; the commit succeeds only if none changed in
the meantime (optimistic concurrency), so two workers or two agents never overwrite each other's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import BaseModel

from alerts.antinoise import AntiNoisePolicy
from alerts.model import Alert
from streams.events import Deal, Event, Financials, Quote
from streams.state import DealState, IssuerState, MarketState, TrancheState
from streams.state_cache import Cached, StateCache

MARKET_KEY = "market"
D = TypeVar("D", bound=BaseModel)


def tranche_key(tranche_id: str) -> str:
    return f"tranche:{tranche_id}"


def issuer_key(issuer_id: str) -> str:
    return f"issuer:{issuer_id}"


def deal_key(deal_id: str) -> str:
    return f"deal:{deal_id}"


@dataclass(slots=True)
class Commit:
    """Everything one batch changes, applied atomically or not at all."""

    expected: dict[str, int]
    documents: dict[str, bytes]
    seen: list[tuple[str, str]]
    notices: list[Alert]


class StateStore(Protocol):
    async def load(
        self, keys: Iterable[str], known: Mapping[str, int] | None = None
    ) -> dict[str, tuple[int, bytes | None]]:
        """(version, document) by key; version 0 and None when absent. A key whose current version is
        the one in `known` comes back without its document (the caller holds it already)."""
        ...

    async def seen(self, topic: str, event_ids: Iterable[str]) -> set[str]: ...

    async def commit(self, commit: Commit) -> bool: ...


@dataclass
class Snapshot:
    versions: dict[str, int] = field(default_factory=dict)
    tranches: dict[str, TrancheState] = field(default_factory=dict)
    issuers: dict[str, IssuerState] = field(default_factory=dict)
    deals: dict[str, DealState] = field(default_factory=dict)
    market: MarketState = field(default_factory=MarketState)
    dirty: set[str] = field(default_factory=set)
    seen: list[tuple[str, str]] = field(default_factory=list)
    notices: list[Alert] = field(default_factory=list)
    antinoise: AntiNoisePolicy = field(default_factory=AntiNoisePolicy)  # set from the rules config
    raw: dict[str, bytes] = field(default_factory=dict)  # documents as read, for the cache

    def tranche(self, tranche_id: str) -> TrancheState:
        if tranche_id not in self.tranches:
            self.tranches[tranche_id] = TrancheState(tranche_id=tranche_id)
        return self.tranches[tranche_id]

    def issuer(self, issuer_id: str) -> IssuerState:
        if issuer_id not in self.issuers:
            self.issuers[issuer_id] = IssuerState(issuer_id=issuer_id)
        return self.issuers[issuer_id]

    def issuer_of(self, tranche: TrancheState) -> IssuerState | None:
        return self.issuers.get(tranche.issuer_id) if tranche.issuer_id else None

    def touch(self, key: str) -> None:
        self.dirty.add(key)

    def to_commit(self) -> Commit:
        documents: dict[str, bytes] = {}
        for key in self.dirty:
            documents[key] = _stored(self._document(key))
        return Commit(dict(self.versions), documents, list(self.seen), list(self.notices))

    def remember(self, cache: StateCache) -> None:
        """After a successful commit: what was written is now at version + 1; what was only read is kept
        as the bytes read."""
        for key, version in self.versions.items():
            if key in self.dirty:
                cache.put(key, Cached(version + 1, self._document(key), None))
            elif key in self.raw:
                cache.put(key, Cached(version, None, self.raw[key]))

    def _document(self, key: str) -> BaseModel:
        kind, _, ident = key.partition(":")
        if kind == "tranche":
            return self.tranches[ident]
        if kind == "issuer":
            return self.issuers[ident]
        if kind == "deal":
            return self.deals[ident]
        return self.market


def _stored(doc: BaseModel) -> bytes:
    # A tranche's analytics are derived on read (TrancheState.analytics): not worth a yield solve per write.
    exclude = {"analytics"} if isinstance(doc, TrancheState) else None
    return doc.model_dump_json(exclude=exclude).encode()


def _primary_keys(events: Iterable[Event]) -> set[str]:
    keys: set[str] = set()
    for event in events:
        if isinstance(event, Quote):
            keys.add(tranche_key(event.tranche_id))
            keys.add(MARKET_KEY)
        elif isinstance(event, Deal):
            keys.update({deal_key(event.deal_id), issuer_key(event.issuer_id), MARKET_KEY})
            keys.update(tranche_key(t.tranche_id) for t in event.tranches)
        elif isinstance(event, Financials):
            keys.add(issuer_key(event.issuer_id))
    return keys


def _decode(model: type[D], raw: bytes) -> D:
    return model.model_validate_json(raw)


def _cached_neighbours(keys: set[str], cache: StateCache | None) -> set[str]:
    """Issuers of the cached tranches among `keys`: loaded with them, saving the second round trip."""
    out: set[str] = set()
    if cache is None:
        return out
    for key in keys:
        doc = cache.peek(key)
        if isinstance(doc, TrancheState) and doc.issuer_id:
            out.add(issuer_key(doc.issuer_id))
    return out


async def load_snapshot(store: StateStore, events: list[Event], cache: StateCache | None = None) -> Snapshot:
    """Loads the documents the events touch, then the neighbours their rules read.

    A quote's tranche brings its issuer (for distressed_tranche); a deal's or a financial report's issuer
    brings all its tranches (their below_par states). Two round trips at most, one when the tranches are
    cached; documents whose cached version is current are neither sent nor decoded again.
    """
    snap = Snapshot()
    primary = _primary_keys(events)
    await _load_into(snap, store, primary | _cached_neighbours(primary, cache), cache)
    wants_tranches = {e.issuer_id for e in events if isinstance(e, Deal | Financials)}
    follow: set[str] = set()
    for tranche in snap.tranches.values():
        if tranche.issuer_id:
            follow.add(issuer_key(tranche.issuer_id))
    for issuer_id in wants_tranches:
        issuer = snap.issuers.get(issuer_id)
        if issuer is not None:
            follow.update(tranche_key(t) for t in issuer.tranche_ids)
    await _load_into(snap, store, follow, cache)
    return snap


async def _load_into(snap: Snapshot, store: StateStore, keys: set[str], cache: StateCache | None) -> None:
    pending = sorted(keys - snap.versions.keys())
    if not pending:
        return
    known = cache.versions(pending) if cache is not None else {}
    vanished: list[str] = []
    for key, (version, raw) in (await store.load(pending, known)).items():
        snap.versions[key] = version
        hit = cache.take(key, version) if cache is not None and key in known else None
        if hit is not None and hit.document is not None:
            _place(snap, key, hit.document)
            continue
        raw = hit.raw if hit is not None else raw
        if raw is None:
            if key in known and version > 0:
                # Redis did not send it since the cache had it, but another agent's batch took the entry
                # during the load: fetch it, or the rules would judge without a document that exists.
                vanished.append(key)
            continue
        snap.raw[key] = raw
        _place(snap, key, _decode_key(key, raw))
    if vanished:
        for key, (version, raw) in (await store.load(vanished)).items():
            snap.versions[key] = version
            if raw is not None:
                snap.raw[key] = raw
                _place(snap, key, _decode_key(key, raw))


def _decode_key(key: str, raw: bytes) -> BaseModel:
    kind = key.partition(":")[0]
    if kind == "tranche":
        return _decode(TrancheState, raw)
    if kind == "issuer":
        return _decode(IssuerState, raw)
    if kind == "deal":
        return _decode(DealState, raw)
    return _decode(MarketState, raw)


def _place(snap: Snapshot, key: str, doc: BaseModel) -> None:
    ident = key.partition(":")[2]
    if isinstance(doc, TrancheState):
        snap.tranches[ident] = doc
    elif isinstance(doc, IssuerState):
        snap.issuers[ident] = doc
    elif isinstance(doc, DealState):
        snap.deals[ident] = doc
    elif isinstance(doc, MarketState):
        snap.market = doc
