"""stale_quote's state beside the documents: the index derived from them at commit, the candidates a batch
loads, the clock that only moves forward, and the checks that keep "stale at once" across workers."""

from __future__ import annotations

import datetime as dt

from alerts.core.model import Alert
from streams.engine.apply import apply_event
from streams.model.events import Event
from streams.rules import stale_quote
from streams.rules.config import StaleQuoteConfig
from streams.rules.registry import RulesConfig
from streams.state.memory_store import MemoryStore
from streams.state.snapshot import Snapshot, load_snapshot
from tests.unit.rules.scenario import TOPIC_OF, at, deal, quote, terms

RULES = RulesConfig()
CFG = RULES.stale_quote
DEAL = deal("d-1", "WHBUS-2025", "2025-01-02", [terms("A"), terms("B"), terms("C")])


async def batch(store: MemoryStore, events: list[Event], rules: RulesConfig = RULES) -> Snapshot:
    """One batch as the worker runs it; returns the snapshot after a successful commit."""
    snap = await load_snapshot(store, events, stale=rules.stale_quote)
    for event in events:
        apply_event(snap, TOPIC_OF[type(event)], event, rules)
    assert await store.commit(snap.to_commit())
    return snap


def stale_notices(snaps: list[Snapshot]) -> list[tuple[str | None, str, dt.datetime]]:
    return [(n.subject.tranche_id, n.status, n.event_time) for s in snaps for n in s.notices if _stale(n)]


def _stale(notice: Alert) -> bool:
    return notice.rule == "stale_quote"


def test_overdue_from_is_the_first_clock_at_which_a_quote_is_stale() -> None:
    for cfg in (StaleQuoteConfig(), StaleQuoteConfig(trading_days=1)):
        for day in range(60):  # over Spring Festival 2025 and its weekends
            last = at("2025-01-10") + dt.timedelta(days=day, hours=day % 7)
            first = stale_quote.overdue_from(last, cfg)
            assert stale_quote.is_stale(last, first, cfg), (last, first)
            assert not stale_quote.is_stale(last, first - dt.timedelta(microseconds=1), cfg), (last, first)


async def test_the_commit_files_each_written_tranche_from_its_document_and_raises_the_clock() -> None:
    store = MemoryStore()
    await batch(store, [DEAL, quote("qa", "A", "2025-01-06", 100.0), quote("qb", "B", "2025-01-07", 100.0)])
    assert store.watching == {"A": at("2025-01-06"), "B": at("2025-01-07")}
    assert store.event_clock == at("2025-01-07")
    snap = await batch(store, [quote("qb2", "B", "2025-01-20", 100.0)])
    commit = snap.to_commit()
    assert commit.watching == {"A": None, "B": at("2025-01-20")}  # A is stale: out, its alert on its doc
    assert store.watching == {"B": at("2025-01-20")} and store.event_clock == at("2025-01-20")
    assert "tranche:A" in commit.documents and "market" not in commit.documents
    assert stale_notices([snap]) == [("A", "firing", at("2025-01-20"))]
    again = await batch(store, [quote("qa2", "A", "2025-01-21", 99.0)])  # resolves: filed again
    assert stale_notices([again]) == [("A", "resolved", at("2025-01-21"))]
    assert store.watching["A"] == at("2025-01-21")


async def test_a_batch_loads_only_the_tranches_its_final_clock_can_make_overdue() -> None:
    store = MemoryStore()
    await batch(store, [DEAL, quote("qa", "A", "2025-01-06", 100.0), quote("qb", "B", "2025-01-10", 100.0)])
    near = await load_snapshot(store, [quote("qc", "C", "2025-01-13", 100.0)], stale=CFG)
    assert set(near.tranches) == {"C"}
    # 14 January makes A (6 January) overdue, not B; the stored clock counts when the batch is behind it.
    far = await load_snapshot(store, [quote("qc", "C", "2025-01-14", 100.0)], stale=CFG)
    assert set(far.tranches) == {"A", "C"} and [t for _, t in far.watching] == ["A"]
    off = await load_snapshot(
        store, [quote("qc", "C", "2025-01-14", 100.0)], stale=CFG.model_copy(update={"enabled": False})
    )
    assert set(off.tranches) == {"C"}


async def test_a_batch_of_recent_quotes_indexes_nothing_in_memory_and_files_everything() -> None:
    store = MemoryStore()
    events: list[Event] = [
        DEAL,
        quote("qa", "A", "2025-01-13", 100.0),
        quote("qb", "B", "2025-01-14", 100.0),
        quote("qc", "C", "2025-01-15", 100.0),
    ]
    snap = await load_snapshot(store, events, stale=CFG)
    assert snap.index.below == stale_quote.cutoff(at("2025-01-15"), CFG)
    for event in events:
        apply_event(snap, TOPIC_OF[type(event)], event, RULES)
        assert snap.watching == [] and not snap.index.ids  # none can become overdue before 15 January
    assert await store.commit(snap.to_commit())
    assert store.watching == {"A": at("2025-01-13"), "B": at("2025-01-14"), "C": at("2025-01-15")}


async def test_a_tranche_quoted_below_the_final_cutoff_goes_stale_in_the_same_batch() -> None:
    store = MemoryStore()
    late = quote("qb", "B", "2025-01-20", 100.0)
    events: list[Event] = [DEAL, quote("qa", "A", "2025-01-06", 100.0), late]
    snap = await load_snapshot(store, events, stale=CFG)
    for event in events[:2]:
        apply_event(snap, TOPIC_OF[type(event)], event, RULES)
    assert snap.watching == [(at("2025-01-06"), "A")] and snap.index.ids == {"A"}
    apply_event(snap, "bond.quotes", late, RULES)
    assert stale_notices([snap]) == [("A", "firing", at("2025-01-20"))]
    assert snap.watching == [] and not snap.index.ids
    assert await store.commit(snap.to_commit())
    assert store.watching == {"B": at("2025-01-20")}


async def test_the_clock_only_moves_forward() -> None:
    store = MemoryStore()
    await batch(store, [quote("q1", "A", "2025-01-20", 100.0)])
    behind = await batch(store, [quote("q2", "B", "2025-01-06", 100.0)])
    assert behind.to_commit().clock is None and store.event_clock == at("2025-01-20")
    # B's quote was already 10 trading days behind the clock: stale at once.
    assert stale_notices([behind]) == [("B", "firing", at("2025-01-20"))]


async def test_a_tranche_filed_while_another_worker_moved_the_clock_is_judged_again() -> None:
    store = MemoryStore()
    await batch(store, [DEAL, quote("q0", "A", "2025-01-06", 100.0)])
    slow = await load_snapshot(store, [quote("qb", "B", "2025-01-07", 100.0)], stale=CFG)
    await batch(store, [quote("qc", "C", "2025-01-30", 100.0)])  # the other partition runs ahead
    apply_event(slow, "bond.quotes", quote("qb", "B", "2025-01-07", 100.0), RULES)
    assert not await store.commit(slow.to_commit())  # B would sit in the index already overdue
    redone = await batch(store, [quote("qb", "B", "2025-01-07", 100.0)])
    assert stale_notices([redone]) == [("B", "firing", at("2025-01-30"))]


async def test_a_tranche_filed_by_another_worker_after_this_batch_loaded_is_judged_again() -> None:
    store = MemoryStore()
    await batch(store, [DEAL, quote("q0", "A", "2025-01-06", 100.0)])
    ahead = await load_snapshot(store, [quote("qc", "C", "2025-01-30", 100.0)], stale=CFG)
    await batch(store, [quote("qb", "B", "2025-01-07", 100.0)])  # filed after `ahead` read the index
    apply_event(ahead, "bond.quotes", quote("qc", "C", "2025-01-30", 100.0), RULES)
    assert not await store.commit(ahead.to_commit())  # B is overdue at its clock and it never saw B
    redone = await batch(store, [quote("qc", "C", "2025-01-30", 100.0)])
    assert {t for t, status, _ in stale_notices([redone]) if status == "firing"} == {"A", "B"}
    assert store.watching == {"C": at("2025-01-30")}
