"""The in-process document cache: same alerts as without it, reused only at the current version."""

from __future__ import annotations

import json

import pytest
from prometheus_client import CollectorRegistry

from alerts.core.model import Alert
from streams.engine.pipeline import BatchHandler
from streams.metrics import Metrics
from streams.model.state import TrancheState
from streams.rules.registry import RulesConfig
from streams.state.cache import Cached, StateCache
from streams.state.memory_store import MemoryStore
from tests.unit.engine.test_pipeline import DEAL, RecordingPublisher, env, quote


def handler(store: MemoryStore, cache: StateCache | None) -> BatchHandler:
    metrics = Metrics(CollectorRegistry())
    return BatchHandler(store, RulesConfig(), RecordingPublisher(), metrics, cache=cache)


def keys(alerts: list[Alert]) -> list[tuple[str, str, str, int]]:
    return [(a.fingerprint, a.severity, a.status, a.seq) for a in alerts]


PRICES = [99.0, 97.5, 96.0, 94.0, 98.9, 99.9, 95.5]


async def run(cache: StateCache | None) -> tuple[list[Alert], MemoryStore]:
    store = MemoryStore()
    h = handler(store, cache)
    notices = await h.handle([env("abs.deals", json.dumps(DEAL).encode())])
    for day, price in enumerate(PRICES, start=1):
        notices += await h.handle([env("bond.quotes", quote(f"q-{day}", price, day))])
    return notices, store


class CountingCache(StateCache):
    hits = 0

    def take(self, key: str, version: int) -> Cached | None:
        entry = super().take(key, version)
        self.hits += entry is not None
        return entry


async def test_cached_and_uncached_runs_decide_the_same_and_write_the_same() -> None:
    cache = CountingCache(100)
    cached, cached_store = await run(cache)
    plain, plain_store = await run(None)
    assert keys(cached) == keys(plain) and len(plain) >= 3
    assert cached_store.documents == plain_store.documents
    assert cache.hits >= len(PRICES) - 1


async def test_a_document_changed_elsewhere_is_read_again() -> None:
    cache = StateCache(100)
    store = MemoryStore()
    h = handler(store, cache)
    await h.handle([env("abs.deals", json.dumps(DEAL).encode())])
    await h.handle([env("bond.quotes", quote("q-1", 99.0, 1))])
    # Another worker writes the tranche: a newer version, with a different deal id.
    version, body = store.documents["tranche:A"]
    doc = json.loads(body)
    doc["deal_id"] = "ELSEWHERE"
    store.documents["tranche:A"] = (version + 1, json.dumps(doc).encode())
    await h.handle([env("bond.quotes", quote("q-2", 99.1, 2))])
    assert json.loads(store.documents["tranche:A"][1])["deal_id"] == "ELSEWHERE"


def test_eviction_keeps_the_newest_entries() -> None:
    cache = StateCache(2)
    for n in range(3):
        cache.put(f"tranche:{n}", Cached(1, TrancheState(tranche_id=str(n))))
    assert len(cache) == 2 and cache.versions(["tranche:0", "tranche:1", "tranche:2"]) == {
        "tranche:1": 1,
        "tranche:2": 1,
    }
    assert cache.take("tranche:1", 2) is None and len(cache) == 1  # a stale entry is dropped


async def test_an_entry_taken_by_a_concurrent_batch_during_the_load_is_fetched() -> None:
    """Redis skips sending a document whose version the cache holds; if another agent's batch takes that
    cache entry meanwhile, the document must be fetched, not silently missing from the snapshot."""
    from streams.model.events import Quote
    from streams.state.snapshot import load_snapshot

    cache = StateCache(100)
    store = MemoryStore()
    h = handler(store, cache)
    await h.handle([env("abs.deals", json.dumps(DEAL).encode())])
    assert cache.versions(["issuer:I", "tranche:A"]).keys() == {"issuer:I", "tranche:A"}

    class LikeRedis(MemoryStore):
        async def load(self, keys, known=None):  # type: ignore[no-untyped-def]
            rows = await store.load(keys, known)
            cache.take("issuer:I", cache.versions(["issuer:I"]).get("issuer:I", 0))  # the other batch
            return {k: (v, None if known and k in known else raw) for k, (v, raw) in rows.items()}

    event = Quote.model_validate_json(quote("q-2", 95.0, 2))
    snap = await load_snapshot(LikeRedis(), [event], cache)
    assert "I" in snap.issuers and "A" in snap.tranches


async def test_a_document_only_read_is_reused_without_decoding_again() -> None:
    """The issuer is read (not written) by every quote of its tranches: the next batch gets the same
    object back from the cache instead of decoding the stored JSON again."""
    cache = StateCache(100)
    h = handler(MemoryStore(), cache)
    await h.handle([env("abs.deals", json.dumps(DEAL).encode())])
    await h.handle([env("bond.quotes", quote("q-1", 99.0, 1))])
    issuer = cache.peek("issuer:I")
    await h.handle([env("bond.quotes", quote("q-2", 99.1, 2))])
    assert issuer is not None and cache.peek("issuer:I") is issuer


async def test_a_rule_changing_a_document_it_does_not_touch_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cache's reuse of read-only documents rests on every change going with `touch`; tests run with
    the check on (tests/conftest.py), so a rule that breaks this fails loudly."""
    from streams.model.events import Quote
    from streams.state.keys import issuer_key
    from streams.state.snapshot import CHECK_UNTOUCHED_ENV, UntouchedDocumentChanged, load_snapshot

    monkeypatch.setenv(CHECK_UNTOUCHED_ENV, "1")
    store = MemoryStore()
    await handler(store, None).handle([env("abs.deals", json.dumps(DEAL).encode())])
    snap = await load_snapshot(store, [Quote.model_validate_json(quote("q-1", 95.0, 1))])
    snap.issuers["I"].city = "changed, not touched"
    with pytest.raises(UntouchedDocumentChanged, match="issuer:I"):
        snap.to_commit()
    snap.touch(issuer_key("I"))
    assert "issuer:I" in snap.to_commit().documents
