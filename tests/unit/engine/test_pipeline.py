"""The batch handler on the in-memory store: dedupe, dead letters, bug isolation, conflicts."""

from __future__ import annotations

import json

import pytest
from prometheus_client import CollectorRegistry

from streams.engine.pipeline import BatchHandler
from streams.ingest.deadletter import Envelope, KeptDeadLetters
from streams.metrics import Metrics
from streams.rules.registry import RulesConfig
from streams.state.memory_store import MemoryStore
from streams.state.snapshot import Commit

DEAL = {
    "event_id": "d-1",
    "deal_id": "D",
    "issuer_id": "I",
    "issuer_name": "Issuer",
    "announced_at": "2025-01-10T10:00:00+08:00",
    "asset_type": "transport_revenue",
    "tranches": [
        {
            "tranche_id": "A",
            "face_value": 6e8,
            "coupon_pct": 2.6,
            "issue_date": "2025-01-15",
            "maturity_date": "2035-01-15",
        }
    ],
}


def quote(event_id: str, price: float, day: int = 1) -> bytes:
    return json.dumps(
        {"event_id": event_id, "tranche_id": "A", "ts": f"2025-09-{day:02d}T09:30:00+08:00", "price": price}
    ).encode()


class RecordingPublisher(KeptDeadLetters):
    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.read_backs = 0

    async def publish_many(
        self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker away")
        await super().publish_many(records)

    async def tail_headers(self, topic: str, per_partition: int) -> list[list[tuple[str, bytes]]]:
        self.read_backs += 1
        return await super().tail_headers(topic, per_partition)


def env(topic: str, value: bytes, offset: int = 0) -> Envelope:
    return Envelope(topic, 0, offset, None, value, 0.0)


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


async def test_alerts_dedupes_and_dead_letters(metrics: Metrics) -> None:
    store, publisher = MemoryStore(), RecordingPublisher(failures=1)
    handler = BatchHandler(store, RulesConfig(), publisher, metrics, retry_max_seconds=0.01)
    notices = await handler.handle(
        [
            env("abs.deals", json.dumps(DEAL).encode()),
            env("bond.quotes", quote("q-1", 94.5), 1),
            env("bond.quotes", quote("q-1", 99.0), 2),  # same event_id: a duplicate, whatever its content
            env("bond.quotes", b"{bad", 3),
        ]
    )
    assert [(n.rule, n.severity, n.status) for n in notices if n.rule == "below_par"] == [
        ("below_par", "critical", "firing")
    ]
    assert len(publisher.records) == 1 and publisher.records[0][2] == b"{bad"
    assert sample(metrics, "tranchewatch_events_total", topic="bond.quotes", outcome="duplicate") == 1
    assert sample(metrics, "tranchewatch_events_total", topic="bond.quotes", outcome="processed") == 1
    assert sample(metrics, "tranchewatch_events_total", topic="bond.quotes", outcome="invalid") == 1

    again = await handler.handle([env("bond.quotes", quote("q-1", 94.5), 1)])  # redelivery after a crash
    assert again == []
    assert sample(metrics, "tranchewatch_events_total", topic="bond.quotes", outcome="duplicate") == 2


async def test_an_event_that_hits_a_bug_is_dead_lettered_and_the_rest_commit(
    metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streams.engine.pipeline as pipeline

    real_apply = pipeline.apply_event  # type: ignore[attr-defined]

    def flaky_apply(snap, topic, event, rules):  # type: ignore[no-untyped-def]
        if event.event_id == "q-boom":
            raise ZeroDivisionError("rule bug")
        real_apply(snap, topic, event, rules)

    monkeypatch.setattr(pipeline, "apply_event", flaky_apply)
    store, publisher = MemoryStore(), RecordingPublisher()
    handler = BatchHandler(store, RulesConfig(), publisher, metrics)
    notices = await handler.handle(
        [
            env("abs.deals", json.dumps(DEAL).encode()),
            env("bond.quotes", quote("q-boom", 90.0), 1),
            env("bond.quotes", quote("q-ok", 94.0), 2),
        ]
    )
    assert any(n.rule == "below_par" and n.evidence["price"] == 94.0 for n in notices)
    assert len(publisher.records) == 1
    headers = dict(publisher.records[0][3])
    assert b"ZeroDivisionError" in headers["tw-reason"] and headers["tw-reason-kind"] == b"processing_error"


async def test_a_conflicting_commit_is_retried_on_fresh_state(metrics: Metrics) -> None:
    class ConflictOnce(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.conflicts = 1

        async def commit(self, commit: Commit) -> bool:
            if self.conflicts:
                self.conflicts -= 1
                return False
            return await super().commit(commit)

    store = ConflictOnce()
    handler = BatchHandler(store, RulesConfig(), RecordingPublisher(), metrics)
    notices = await handler.handle(
        [env("abs.deals", json.dumps(DEAL).encode()), env("bond.quotes", quote("q", 94))]
    )
    assert any(n.rule == "below_par" for n in notices)
    assert sample(metrics, "tranchewatch_commit_conflicts_total") == 1


async def test_the_batch_progress_is_committed_with_it(metrics: Metrics) -> None:
    store = MemoryStore()
    handler = BatchHandler(store, RulesConfig(), RecordingPublisher(), metrics)
    await handler.handle([env("abs.deals", json.dumps(DEAL).encode(), 7), env("bond.quotes", b"{bad", 4)])
    assert store.offsets == {("abs.deals", 0): 7, ("bond.quotes", 0): 4}  # a dead letter's offset too
    await handler.handle([env("bond.quotes", quote("q-1", 94.5), 3)])  # below: nothing moves back
    assert store.offsets[("bond.quotes", 0)] == 4
    await handler.handle([env("bond.quotes", quote("q-1", 94.5), 9)])  # a duplicate still moves it on
    assert store.offsets[("bond.quotes", 0)] == 9


async def test_a_redelivered_dead_letter_is_published_once(metrics: Metrics) -> None:
    store, publisher = MemoryStore(), RecordingPublisher()
    batch = [
        env("bond.quotes", b"{bad", 1),
        env("bond.quotes", quote("q-1", 94.5), 2),
        env("bond.quotes", b"[]", 3),
    ]
    await BatchHandler(store, RulesConfig(), publisher, metrics).handle(batch)
    assert (len(publisher.records), publisher.read_backs) == (2, 0)  # fresh: no read-back
    # Killed after the dead letters went out, before the offsets: a new worker gets the batch again.
    await BatchHandler(store, RulesConfig(), publisher, metrics).handle(batch)
    assert (len(publisher.records), publisher.read_backs) == (2, 1)
    # Killed after the state commit, before the dead letters: they are not on the topic, so they go.
    empty = RecordingPublisher()
    await BatchHandler(store, RulesConfig(), empty, metrics).handle(batch)
    assert [r[2] for r in empty.records] == [b"{bad", b"[]"]
    # A publish that failed part-way is retried with a read-back, whatever the offsets.
    flaky = RecordingPublisher(failures=1)
    await BatchHandler(MemoryStore(), RulesConfig(), flaky, metrics, retry_max_seconds=0.01).handle(batch)
    assert (len(flaky.records), flaky.read_backs) == (2, 1)


async def test_a_moved_progress_is_a_conflict(metrics: Metrics) -> None:
    class Overtaken(MemoryStore):
        async def positions(self, parts):  # type: ignore[no-untyped-def]
            found = await super().positions(parts)
            if not self.offsets:  # another worker commits offset 5 after this one loaded
                self.offsets[("bond.quotes", 0)] = 5
            return found

    store = Overtaken()
    handler = BatchHandler(store, RulesConfig(), RecordingPublisher(), metrics)
    await handler.handle([env("bond.quotes", quote("q-1", 94.5), 6)])
    assert sample(metrics, "tranchewatch_commit_conflicts_total") == 1
    assert store.offsets == {("bond.quotes", 0): 6}


async def test_ids_are_kept_for_the_retention_and_redeliveries_known_by_offset(metrics: Metrics) -> None:
    import datetime as dt

    store = MemoryStore()
    handler = BatchHandler(
        store, RulesConfig(), RecordingPublisher(), metrics, dedup_retention=dt.timedelta(days=7)
    )
    await handler.handle([env("bond.quotes", quote("q-1", 99.0, 1), 1)])
    await handler.handle([env("bond.quotes", quote("q-9", 99.0, 9), 2)])
    await handler.handle([env("bond.quotes", quote("q-20", 99.0, 20), 3)])
    assert set(store.seen_ids["bond.quotes"]) == {"q-20"}  # 1 and 9 are more than 7 days older: forgotten
    # A redelivery of a forgotten event (a group reset to earliest) is known by its offset: nothing applied.
    assert await handler.handle([env("bond.quotes", quote("q-1", 80.0, 1), 1)]) == []
    assert sample(metrics, "tranchewatch_events_total", topic="bond.quotes", outcome="duplicate") == 1
    # Within the retention an unknown id at an old offset was never applied (a re-created topic): applied.
    await handler.handle([env("bond.quotes", quote("q-new", 99.0, 19), 2)])
    assert "q-new" in store.seen_ids["bond.quotes"]
    # Past the progress, an event older than the retention is new to this topic: applied, and forgotten.
    await handler.handle([env("bond.quotes", quote("q-late", 99.0, 2), 4)])
    assert sample(metrics, "tranchewatch_events_total", topic="bond.quotes", outcome="processed") == 5


@pytest.mark.parametrize(
    ("topic", "valid", "invalid"),
    [
        (
            "abs.distributions",
            {
                "tranche_id": "A",
                "payment_date": "2025-04-15",
                "reported_at": "2025-04-16T18:00:00+08:00",
                "interest_due": 3.9e6,
                "interest_paid": 3.9e6,
                "principal_due": 0,
                "principal_paid": 0,
            },
            {"interest_due": -1.0},
        ),
        (
            "abs.servicer_reports",
            {
                "deal_id": "D",
                "period_start": "2025-01-01",
                "period_end": "2025-03-31",
                "reported_at": "2025-04-20T18:00:00+08:00",
                "collections": 4.1e7,
                "debt_service_due": 3.9e7,
            },
            {"period_end": "2024-12-31"},
        ),
        (
            "abs.ratings",
            {"tranche_id": "A", "agency": "CCXI", "rating": "AA+", "ts": "2025-04-01T17:00:00+08:00"},
            {"rating": "Z"},
        ),
    ],
)
async def test_each_v2_topic_is_counted_by_outcome(
    metrics: Metrics, topic: str, valid: dict[str, object], invalid: dict[str, object]
) -> None:
    # tranchewatch_events_total{topic, outcome} counts the contract v2 topics with the labels the quote path
    # has: processed, duplicate (the same event_id again) and invalid (dead-lettered).
    handler = BatchHandler(MemoryStore(), RulesConfig(), RecordingPublisher(), metrics)
    first = json.dumps({"event_id": "e-1", **valid}).encode()
    bad = json.dumps({"event_id": "e-2", **valid, **invalid}).encode()
    await handler.handle([env("abs.deals", json.dumps(DEAL).encode())])
    await handler.handle([env(topic, first, 1), env(topic, first, 2), env(topic, bad, 3)])
    for outcome in ("processed", "duplicate", "invalid"):
        assert sample(metrics, "tranchewatch_events_total", topic=topic, outcome=outcome) == 1, outcome
