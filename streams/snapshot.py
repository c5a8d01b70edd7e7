"""The slice of state one batch needs, loaded in a few pipelined round trips and committed in one.

A snapshot remembers the version of every document it read; the commit succeeds only if none changed in
the meantime (optimistic concurrency), so two workers or two agents never overwrite each other's work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import BaseModel

from alerts.antinoise import AntiNoisePolicy
from alerts.model import Alert
from streams.events import Deal, Event, Financials, Quote
from streams.state import DealState, IssuerState, MarketState, TrancheState

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
    async def load(self, keys: Iterable[str]) -> dict[str, tuple[int, bytes | None]]: ...

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
            documents[key] = self._document(key).model_dump_json(exclude_defaults=False).encode()
        return Commit(dict(self.versions), documents, list(self.seen), list(self.notices))

    def _document(self, key: str) -> BaseModel:
        kind, _, ident = key.partition(":")
        if kind == "tranche":
            return self.tranches[ident]
        if kind == "issuer":
            return self.issuers[ident]
        if kind == "deal":
            return self.deals[ident]
        return self.market


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


async def load_snapshot(store: StateStore, events: list[Event]) -> Snapshot:
    """Loads the documents the events touch, then the neighbours their rules read.

    A quote's tranche brings its issuer (for distressed_tranche); a deal's or a financial report's issuer
    brings all its tranches (their below_par states). Two pipelined round trips at most.
    """
    snap = Snapshot()
    await _load_into(snap, store, _primary_keys(events))
    wants_tranches = {e.issuer_id for e in events if isinstance(e, Deal | Financials)}
    follow: set[str] = set()
    for tranche in snap.tranches.values():
        if tranche.issuer_id:
            follow.add(issuer_key(tranche.issuer_id))
    for issuer_id in wants_tranches:
        issuer = snap.issuers.get(issuer_id)
        if issuer is not None:
            follow.update(tranche_key(t) for t in issuer.tranche_ids)
    await _load_into(snap, store, follow)
    return snap


async def _load_into(snap: Snapshot, store: StateStore, keys: set[str]) -> None:
    pending = sorted(keys - snap.versions.keys())
    if not pending:
        return
    for key, (version, raw) in (await store.load(pending)).items():
        snap.versions[key] = version
        if raw is None:
            continue
        kind, _, ident = key.partition(":")
        if kind == "tranche":
            snap.tranches[ident] = _decode(TrancheState, raw)
        elif kind == "issuer":
            snap.issuers[ident] = _decode(IssuerState, raw)
        elif kind == "deal":
            snap.deals[ident] = _decode(DealState, raw)
        elif key == MARKET_KEY:
            snap.market = _decode(MarketState, raw)
