"""The slice of state one batch needs, loaded in a few pipelined round trips and committed in one.

A snapshot remembers the version of every document it read; the commit succeeds only if none changed in
the meantime (optimistic concurrency), so two workers or two agents never overwrite each other's work.

stale_quote's state is not a document. The event-time clock is one value that only moves forward: the
commit raises it to the snapshot's clock if that is newer, without a version check, so workers on other
partitions never conflict over it. The index of watched tranches is derived from the tranche documents
(`stale_quote.watched_at`) and rewritten with each of them. A batch loads only the part of the index it can
make overdue: the tranches filed before the cutoff of its final clock (the stored clock or its newest
quote). Two checks in the commit keep "stale as soon as the clock says so" true across workers: a filed
tranche the stored clock has already made overdue, or an overdue one this batch did not load (another
worker filed it meanwhile), is a conflict, and the batch is judged again on fresh state.

distribution_overdue keeps an index of its own beside it (streams/rules/distribution_overdue.py), on the same
clock and with the same two checks: tranches with a report filed under the date their next payment falls
due. Batches that read a distribution report or a deal load the clock too (not moving it), to judge a
tranche's own events against it.

Retirement (streams/engine/retire.py) reads the same clock: a batch with quotes also loads the tranches its
final clock retires, from the index of outstanding tranches by maturity (`StateKeys.maturing`), with their
deals and issuers. That index is written from the documents whose maturity entry changed (`refile`: a deal's
terms, a retirement), not from every document written, so a quote costs it nothing. No cross-worker check is
needed: a retirement is a document write like any other, and the version check settles two workers racing to
retire the same tranche; a tranche the clock passed but no batch loaded yet is retired by the next batch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import BaseModel

from alerts.core.antinoise import AntiNoisePolicy
from alerts.core.model import Alert
from streams.model import retirement
from streams.model.events import Deal, Distribution, Entity, Event, Financials, Quote, Rating, ServicerReport
from streams.model.positions import Positions
from streams.model.state import (
    DealState,
    EntityState,
    FamilyState,
    IssuerState,
    MarketState,
    QuoteMark,
    TrancheState,
)
from streams.rules import distribution_overdue, due_index, stale_quote
from streams.rules.config import DistributionOverdueConfig, StaleQuoteConfig
from streams.state.cache import Cached, StateCache
from streams.state.keys import FAMILIES_KEY, MARKET_KEY, DocKey, deal_key, entity_key, issuer_key, tranche_key

D = TypeVar("D", bound=BaseModel)
# Set (to anything) in tests: every commit checks that the documents it does not write serialise as when
# loaded. The state cache reuses an untouched document's object on the next batch, so a rule that changed
# a document without `touch` would leave this worker judging on state Redis never saw.
CHECK_UNTOUCHED_ENV = "TW_CHECK_UNTOUCHED"


class UntouchedDocumentChanged(AssertionError):
    """A rule changed a document without `Snapshot.touch`: the change would be lost, and cached."""


@dataclass(slots=True)
class Commit:
    """Everything one batch changes, applied atomically or not at all."""

    expected: dict[str, int]
    documents: dict[str, bytes]
    seen: list[tuple[str, str]]
    notices: list[Alert]
    clock: dt.datetime | None = None  # raised to this if newer; None: unchanged
    # stale_quote's index, by tranche id: the newest quote it is filed under, None to take it out.
    watching: dict[str, dt.datetime | None] = field(default_factory=dict)
    # Conflict if the stored clock has reached this (a tranche filed here would be overdue already).
    filed_overdue_from: dt.datetime | None = None
    # Conflict if the index holds a tranche filed before this that is not in `expected` (not judged here).
    judged_before: dt.datetime | None = None
    # distribution_overdue's index (apart from stale_quote's), by tranche id: the due date it is filed under,
    # None to take it out; and its own `judged_before` check (its `filed_overdue_from` joins the one above).
    overdue: dict[str, dt.datetime | None] = field(default_factory=dict)
    overdue_judged_before: dt.datetime | None = None
    # Each accepted quote, late ones too, as (tranche id, mark): the price history the web page draws.
    prices: list[tuple[str, QuoteMark]] = field(default_factory=list)
    # Kafka progress (streams/state/progress.py): (topic, partition) -> the batch's highest offset, raised
    # only where past `loaded_positions` (-1: none), which must still be current (else a conflict).
    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    loaded_positions: dict[tuple[str, int], int] = field(default_factory=dict)
    # The event time of each (topic, event id) in `seen`, and how long before its topic's newest an id is
    # kept; None keeps every id (tests that build a Commit by hand).
    seen_at: dict[tuple[str, str], dt.datetime] = field(default_factory=dict)
    retention: dt.timedelta | None = None
    # The index of outstanding tranches by maturity (streams/model/retirement.py), by tranche id: filed under
    # this, None to take it out. And the tranches retired by this batch, whose price history goes.
    maturing: dict[str, dt.datetime | None] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)


class StateStore(Protocol):
    # The errors that mean the store is unreachable (the batch is held and retried), as opposed to a bug met
    # by some event (isolated and dead-lettered). Named by the store so the engine needs no Redis client.
    unavailable_errors: tuple[type[Exception], ...]

    async def load(
        self, keys: Iterable[str], known: Mapping[str, int] | None = None
    ) -> dict[str, tuple[int, bytes | None]]:
        """(version, document) by key; version 0 and None when absent. A key whose current version is
        the one in `known` comes back without its document (the caller holds it already)."""
        ...

    async def seen(self, topic: str, event_ids: Iterable[str]) -> set[str]: ...

    async def confirm(self) -> None:
        """Raises (one of `unavailable_errors`) unless every commit so far is as durable as configured."""
        ...

    async def forgotten_before(self, topic: str, retention: dt.timedelta) -> dt.datetime | None:
        """Event ids of `topic` stamped before this are forgotten (the topic's newest minus `retention`)."""
        ...

    async def positions(self, parts: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The offset each (topic, partition) was committed up to (streams/state/progress.py); -1: none."""
        ...

    async def commit(self, commit: Commit) -> bool: ...

    async def clock(self) -> dt.datetime | None:
        """stale_quote's event-time clock: the newest quote time committed, None before any."""
        ...

    async def watched_before(self, before: dt.datetime) -> list[str]:
        """Tranche ids in stale_quote's index filed under a quote older than `before`."""
        ...

    async def due_before(self, before: dt.datetime) -> list[str]:
        """Tranche ids in distribution_overdue's index filed under a due date before `before`."""
        ...

    async def maturing_before(self, until: dt.datetime) -> list[str]:
        """Outstanding tranche ids maturing (midnight China time of the maturity date) at or before `until`."""
        ...


@dataclass
class Snapshot:
    versions: dict[DocKey, int] = field(default_factory=dict)
    tranches: dict[str, TrancheState] = field(default_factory=dict)
    issuers: dict[str, IssuerState] = field(default_factory=dict)
    deals: dict[str, DealState] = field(default_factory=dict)
    entities: dict[str, EntityState] = field(default_factory=dict)  # v2: abs.entities, by entity id
    market: MarketState = field(default_factory=MarketState)
    # v2, family_stress (streams/engine/families.py): its document, loaded only when the batch needs it; the
    # documents whose counted alerts changed, whether an entity changed, and the newest such event time.
    families: FamilyState = field(default_factory=FamilyState)
    family_docs: set[DocKey] = field(default_factory=set)
    family_due: bool = False
    family_when: dt.datetime | None = None
    dirty: set[DocKey] = field(default_factory=set)
    seen: list[tuple[str, str]] = field(default_factory=list)
    notices: list[Alert] = field(default_factory=list)
    prices: list[tuple[str, QuoteMark]] = field(default_factory=list)  # see Commit.prices
    antinoise: AntiNoisePolicy = field(default_factory=AntiNoisePolicy)  # set from the rules config
    present: set[DocKey] = field(default_factory=set)  # keys loaded with a document, for the cache
    # With CHECK_UNTOUCHED_ENV set: each loaded document serialised as loaded, else None.
    as_loaded: dict[DocKey, bytes] | None = None
    clock: dt.datetime | None = None  # stale_quote's event-time clock: the newest quote time seen
    # The stored clock, when the batch loaded it: every quote batch, and a batch with a distribution report or
    # a deal (distribution_overdue judges them against it; `clock` stays None there, so it moves nothing).
    loaded_clock: dt.datetime | None = None
    # stale_quote's index over the tranches loaded that this batch can make overdue (streams/rules/due_index.py).
    index: due_index.Index = field(default_factory=due_index.Index)
    stale_cfg: StaleQuoteConfig | None = None  # None: the index is left as it is
    # distribution_overdue's index over the tranches loaded that this batch can make overdue.
    overdue_index: due_index.Index = field(default_factory=due_index.Index)
    overdue_cfg: DistributionOverdueConfig | None = None  # None: its index is left as it is
    # Retirement (streams/engine/retire.py): the grace after maturity (None: nothing retires), the loaded
    # tranches this batch's clock may retire, the tranches whose maturity entry must be rewritten, and the
    # tranches retired here.
    retire_after: dt.timedelta | None = None
    maturing: retirement.MaturityIndex = field(default_factory=retirement.MaturityIndex)
    refile: set[str] = field(default_factory=set)
    retired: list[str] = field(default_factory=list)
    # v2: the holdings in force when the batch was handled; a notice's evidence names what each portfolio
    # holds of its subject (streams/engine/judge.py). None: no positions file.
    positions: Positions | None = None

    @property
    def market_clock(self) -> dt.datetime | None:
        """The event-time clock as this batch knows it: moved by its quotes, else as loaded."""
        return self.clock if self.clock is not None else self.loaded_clock

    @property
    def watching(self) -> list[due_index.Entry]:
        """The in-memory index, sorted; the commit files every written tranche from its document anyway."""
        return self.index.entries

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

    def touch(self, key: DocKey) -> None:
        self.dirty.add(key)

    def family_changed(self, when: dt.datetime, key: DocKey | None = None) -> None:
        """family_stress must be judged after this batch: the counted alerts of `key` changed, or (None) an
        entity did."""
        if key is None:
            self.family_due = True
        else:
            self.family_docs.add(key)
        self.family_when = when if self.family_when is None else max(self.family_when, when)

    def to_commit(self) -> Commit:
        if self.as_loaded is not None:
            self._check_untouched(self.as_loaded)
        documents: dict[str, bytes] = {}
        for key in self.dirty:
            documents[key] = _stored(self._document(key))
        expected: dict[str, int] = {key: version for key, version in self.versions.items()}
        commit = Commit(expected, documents, list(self.seen), list(self.notices))
        commit.prices = list(self.prices)
        if self.clock is not None and (self.loaded_clock is None or self.clock > self.loaded_clock):
            commit.clock = self.clock
        if self.stale_cfg is not None:
            self._commit_index(commit, self.stale_cfg)
        if self.overdue_cfg is not None:
            self._commit_overdue(commit, self.overdue_cfg)
        commit.maturing = {t: retirement.maturing_at(self.tranches[t]) for t in sorted(self.refile)}
        commit.retired = list(self.retired)
        return commit

    def _commit_index(self, commit: Commit, cfg: StaleQuoteConfig) -> None:
        for key in self.dirty:
            if key.kind == "tranche":
                tranche = self.tranches[key.ident]
                commit.watching[key.ident] = stale_quote.watched_at(tranche, cfg) if cfg.enabled else None
        if not cfg.enabled or self.clock is None:
            return
        cutoff = stale_quote.cutoff(self.clock, cfg)
        commit.judged_before = cutoff
        # Tranches kept although overdue (an anti-noise pending period) are re-judged by the next batch.
        filed = [at for at in commit.watching.values() if at is not None and at >= cutoff]
        if filed:
            commit.filed_overdue_from = stale_quote.overdue_from(min(filed), cfg)

    def _commit_overdue(self, commit: Commit, cfg: DistributionOverdueConfig) -> None:
        """distribution_overdue's index, with stale_quote's two checks on its own entries."""
        for key in self.dirty:
            if key.kind == "tranche":
                tranche = self.tranches[key.ident]
                commit.overdue[key.ident] = distribution_overdue.watched_at(tranche) if cfg.enabled else None
        clock = self.market_clock
        if not cfg.enabled or clock is None:
            return
        cutoff = distribution_overdue.cutoff(clock, cfg)
        if self.clock is not None:  # a batch that moved the clock loaded every tranche it made overdue
            commit.overdue_judged_before = cutoff
        filed = [at for at in commit.overdue.values() if at is not None and at >= cutoff]
        if filed:
            first = distribution_overdue.overdue_from(min(filed).date(), cfg)
            if commit.filed_overdue_from is None or first < commit.filed_overdue_from:
                commit.filed_overdue_from = first

    def _check_untouched(self, as_loaded: dict[DocKey, bytes]) -> None:
        for key, loaded in as_loaded.items():
            if key not in self.dirty and _stored(self._document(key)) != loaded:
                raise UntouchedDocumentChanged(f"{key} changed without Snapshot.touch")

    def remember(self, cache: StateCache) -> None:
        """After a successful commit: what was written is now at version + 1; what was only read is
        unchanged (see CHECK_UNTOUCHED_ENV) and kept at its version."""
        for key, version in self.versions.items():
            if key in self.dirty:
                cache.put(key, Cached(version + 1, self._document(key)))
            elif key in self.present:
                cache.put(key, Cached(version, self._document(key)))

    def _document(self, key: DocKey) -> BaseModel:
        if key.kind == "tranche":
            return self.tranches[key.ident]
        if key.kind == "issuer":
            return self.issuers[key.ident]
        if key.kind == "deal":
            return self.deals[key.ident]
        if key.kind == "entity":
            return self.entities[key.ident]
        if key == FAMILIES_KEY:
            return self.families
        return self.market


def _stored(doc: BaseModel) -> bytes:
    # A tranche's analytics are derived on read (TrancheState.analytics): not worth a yield solve per write.
    exclude = {"analytics"} if isinstance(doc, TrancheState) else None
    return doc.model_dump_json(exclude=exclude).encode()


def _primary_keys(events: Iterable[Event]) -> set[DocKey]:
    keys: set[DocKey] = set()
    for event in events:
        if isinstance(event, Quote | Distribution):
            keys.add(tranche_key(event.tranche_id))
        elif isinstance(event, Deal):
            keys.update({deal_key(event.deal_id), issuer_key(event.issuer_id), MARKET_KEY})
            keys.update(tranche_key(t.tranche_id) for t in event.tranches)
        elif isinstance(event, Financials):
            keys.add(issuer_key(event.issuer_id))
        elif isinstance(event, ServicerReport):
            keys.add(deal_key(event.deal_id))
        elif isinstance(event, Rating):
            keys.add(tranche_key(event.tranche_id) if event.tranche_id else issuer_key(event.issuer_id or ""))
        elif isinstance(event, Entity):
            keys.add(entity_key(event.entity_id))
    return keys


def _decode(model: type[D], raw: bytes) -> D:
    return model.model_validate_json(raw)


def _cached_neighbours(keys: set[DocKey], cache: StateCache | None) -> set[DocKey]:
    """Issuers of the cached tranches among `keys`: loaded with them, saving the second round trip."""
    out: set[DocKey] = set()
    if cache is None:
        return out
    for key in keys:
        doc = cache.peek(key)
        if isinstance(doc, TrancheState) and doc.issuer_id:
            out.add(issuer_key(doc.issuer_id))
    return out


async def load_snapshot(
    store: StateStore,
    events: list[Event],
    cache: StateCache | None = None,
    stale: StaleQuoteConfig | None = None,
    retire_after: dt.timedelta | None = None,
    overdue: DistributionOverdueConfig | None = None,
) -> Snapshot:
    """Loads the documents the events touch, then the neighbours their rules read.

    A quote's tranche brings its issuer (for distressed_tranche); a deal's or a financial report's issuer
    brings all its tranches (their below_par states), and a deal's issuer its other deals (for
    issuing_into_weakness); a servicer report's deal brings its tranches (for stressed_collateral). Quotes
    also bring the clock and, with `stale` or `overdue` enabled, the tranches the batch can make overdue
    (stale_quote's and distribution_overdue's), and with `retire_after` set, the tranches its clock retires;
    with `overdue` enabled, a distribution report or a deal brings the clock too. Two round trips, a third
    when some tranche is overdue or retires, a fourth for the deals and issuers of those that retire;
    documents whose cached version is current are neither sent nor decoded again.
    """
    snap = Snapshot(
        stale_cfg=stale,
        overdue_cfg=overdue,
        retire_after=retire_after,
        as_loaded={} if os.environ.get(CHECK_UNTOUCHED_ENV) else None,
    )
    primary = _primary_keys(events)
    quoted = [e.ts for e in events if isinstance(e, Quote)]
    overdue_on = overdue is not None and overdue.enabled
    first = _load_into(snap, store, primary | _cached_neighbours(primary, cache), cache)
    if quoted or (overdue_on and any(isinstance(e, Distribution | Deal) for e in events)):
        snap.loaded_clock = (await asyncio.gather(first, store.clock()))[1]
        if quoted:
            snap.clock = snap.loaded_clock
    else:
        await first
    wants_tranches = {e.issuer_id for e in events if isinstance(e, Deal | Financials)}
    follow: set[DocKey] = set()
    for tranche in snap.tranches.values():
        if tranche.issuer_id:
            follow.add(issuer_key(tranche.issuer_id))
    for issuer_id in wants_tranches:
        issuer = snap.issuers.get(issuer_id)
        if issuer is not None:
            follow.update(tranche_key(t) for t in issuer.tranche_ids)
    for issuer_id in {e.issuer_id for e in events if isinstance(e, Deal)}:
        # issuing_into_weakness reads the collateral alerts of the issuer's other deals.
        issuer = snap.issuers.get(issuer_id)
        if issuer is not None:
            follow.update(deal_key(d) for d in issuer.deal_ids)
    for deal_id in {e.deal_id for e in events if isinstance(e, ServicerReport)}:
        # stressed_collateral judges the deal's tranches when its collateral alerts move.
        state = snap.deals.get(deal_id)
        if state is not None and state.deal is not None:
            follow.update(tranche_key(t.tranche_id) for t in state.deal.tranches)
    if not quoted:
        await _load_into(snap, store, follow, cache)
        return snap
    # No clock of this batch passes `final`.
    final = max(quoted) if snap.clock is None else max(snap.clock, *quoted)
    final_cutoff = stale_quote.cutoff(final, stale) if stale is not None and stale.enabled else None
    due_cutoff = distribution_overdue.cutoff(final, overdue) if overdue is not None and overdue_on else None
    horizon = final - retire_after if retire_after is not None else None
    _, overdue_ids, unpaid, due = await asyncio.gather(
        _load_into(snap, store, follow, cache),
        store.watched_before(final_cutoff) if final_cutoff is not None else _nothing(),
        store.due_before(due_cutoff) if due_cutoff is not None else _nothing(),
        store.maturing_before(horizon) if horizon is not None else _nothing(),
    )
    await _load_into(snap, store, {tranche_key(t) for t in (*overdue_ids, *unpaid, *due)}, cache)
    if due:  # a deal retires with its last tranche, and an issuer forgets its retired tranches
        near: set[DocKey] = set()
        for tranche_id in due:
            retiring = snap.tranches.get(tranche_id)
            if retiring is not None and retiring.deal_id:
                near.add(deal_key(retiring.deal_id))
            if retiring is not None and retiring.issuer_id:
                near.add(issuer_key(retiring.issuer_id))
        await _load_into(snap, store, near, cache)
    if horizon is not None:
        for tranche in snap.tranches.values():
            at = retirement.maturing_at(tranche)
            if at is not None and at <= horizon:
                retirement.file(snap.maturing, tranche)
    if final_cutoff is not None and stale is not None:
        # Nothing filed at or after the final cutoff can become overdue here, so it is not indexed in memory.
        snap.index.below = final_cutoff
        for tranche in snap.tranches.values():
            stale_quote.watch(snap.index, tranche, stale)
    if due_cutoff is not None:  # the same for distribution_overdue's index, on its own cutoff
        snap.overdue_index.below = due_cutoff
        for tranche in snap.tranches.values():
            distribution_overdue.watch(snap.overdue_index, tranche)
    return snap


async def _nothing() -> list[str]:
    return []


async def load_more(snap: Snapshot, store: StateStore, keys: set[DocKey], cache: StateCache | None) -> None:
    """Loads into `snap` the documents of `keys` it has not loaded yet (their versions are checked at the
    commit like the others'); one round trip."""
    await _load_into(snap, store, keys, cache)


async def _load_into(snap: Snapshot, store: StateStore, keys: set[DocKey], cache: StateCache | None) -> None:
    pending = sorted(keys - snap.versions.keys())
    if not pending:
        return
    known = cache.versions(pending) if cache is not None else {}
    vanished: list[DocKey] = []
    loaded = await store.load(pending, known)
    for key in pending:  # our keys, which know their kind; the store's answer is looked up by them
        version, raw = loaded[key]
        snap.versions[key] = version
        hit = cache.take(key, version) if cache is not None and key in known else None
        if hit is not None:
            _place(snap, key, hit.document)
            continue
        if raw is None:
            if key in known and version > 0:
                # Redis did not send it since the cache had it, but another agent's batch took the entry
                # during the load: fetch it, or the rules would judge without a document that exists.
                vanished.append(key)
            continue
        _place(snap, key, _decode_key(key, raw))
    if vanished:
        again = await store.load(vanished)
        for key in vanished:
            version, raw = again[key]
            snap.versions[key] = version
            if raw is not None:
                _place(snap, key, _decode_key(key, raw))


_MODEL: dict[str, type[BaseModel]] = {
    "tranche": TrancheState,
    "issuer": IssuerState,
    "deal": DealState,
    "market": MarketState,
    "entity": EntityState,
    "families": FamilyState,
}


def _decode_key(key: DocKey, raw: bytes) -> BaseModel:
    return _decode(_MODEL[key.kind], raw)


def _place(snap: Snapshot, key: DocKey, doc: BaseModel) -> None:
    snap.present.add(key)
    if snap.as_loaded is not None:
        snap.as_loaded[key] = _stored(doc)
    if isinstance(doc, TrancheState):
        snap.tranches[key.ident] = doc
    elif isinstance(doc, IssuerState):
        snap.issuers[key.ident] = doc
    elif isinstance(doc, DealState):
        snap.deals[key.ident] = doc
    elif isinstance(doc, EntityState):
        snap.entities[key.ident] = doc
    elif isinstance(doc, FamilyState):
        snap.families = doc
    elif isinstance(doc, MarketState):
        snap.market = doc
