"""Replays records through the worker's BatchHandler on an in-memory store: same parser, same duplicate
handling, same rules, so a backtest and the worker cannot disagree by construction.

Each record's Kafka timestamp is the wall-clock time of the replay, as publishing the file now would give
it: the only use of wall-clock time, by the future_timestamp check on quotes stamped ahead of it.

Replay order is the order of the records given (the file's order, or event time when the caller sorted
them): the worker reads each topic in order too, and apply_event judges each event on its own, so batch
size changes speed, never alerts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from alerts.core.model import Alert
from streams.engine.pipeline import BatchHandler
from streams.ingest.deadletter import Envelope, KeptDeadLetters
from streams.kafka.publish import message_key
from streams.kafka.topics import INPUT_TOPICS
from streams.metrics import Metrics
from streams.model.retirement import DEFAULT_GRACE
from streams.model.state import DealState, EntityState, IssuerState, MarketState, TrancheState
from streams.rules.registry import RulesConfig
from streams.state.keys import MARKET_KEY, DocKey
from streams.state.memory_store import MemoryStore
from streams.views.watchlist import MarketView

from .sources import Record

D = TypeVar("D", bound=BaseModel)
OUTCOMES = ("processed", "invalid", "duplicate")
Progress = Callable[[int], None]


class HeldDeadLetters(KeptDeadLetters):
    """Stands in for the Kafka producer: keeps what the worker would have sent to tranchewatch.deadletter
    (a backtest has no broker; a rebuild must not dead-letter again what the worker already did)."""


async def drive(
    handler: BatchHandler,
    envelopes: Iterable[Envelope],
    batch_size: int,
    after_batch: Callable[[list[Envelope]], Awaitable[None]] | None = None,
) -> int:
    """Hands `envelopes` to the handler in batches of `batch_size`, in order, as the worker's agents do;
    `after_batch` runs once each batch is committed. Returns the number of envelopes handled."""
    batch: list[Envelope] = []
    done = 0
    for envelope in envelopes:
        batch.append(envelope)
        if len(batch) >= batch_size:
            await handler.handle(batch)
            done += len(batch)
            if after_batch is not None:
                await after_batch(batch)
            batch = []
    if batch:
        await handler.handle(batch)
        done += len(batch)
        if after_batch is not None:
            await after_batch(batch)
    return done


@dataclass
class BacktestRun:
    """One replay's outcome: the notices in the order the worker would have sent them, and the final state."""

    label: str
    rules: RulesConfig
    notices: list[Alert]
    store: MemoryStore
    counts: dict[str, dict[str, int]]  # topic -> outcome -> events
    dead_letters: list[tuple[str, str]] = field(default_factory=list)  # (source topic, reason)

    def documents(self, kind: str, model: type[D]) -> dict[str, D]:
        """Final state documents of one kind ('tranche', 'issuer', 'deal', 'entity'), by id."""
        found: dict[str, D] = {}
        for name, (_, raw) in sorted(self.store.documents.items()):
            key = DocKey.parse(name)
            if key.kind == kind:
                found[key.ident] = model.model_validate_json(raw)
        return found

    def tranches(self) -> dict[str, TrancheState]:
        return self.documents("tranche", TrancheState)

    def issuers(self) -> dict[str, IssuerState]:
        return self.documents("issuer", IssuerState)

    def deals(self) -> dict[str, DealState]:
        return self.documents("deal", DealState)

    def market(self) -> MarketState:
        raw = self.store.documents.get(MARKET_KEY)
        return MarketState.model_validate_json(raw[1]) if raw else MarketState()

    def view(self) -> MarketView:
        """The documents and the clock a watchlist of the final state is built from."""
        return MarketView(
            self.tranches(),
            self.issuers(),
            self.deals(),
            self.store.event_clock,
            self.documents("entity", EntityState),
        )

    def firing(self) -> dict[str, Alert]:
        """Alerts firing once every event is applied, by fingerprint: the newest notice of each."""
        latest: dict[str, Alert] = {}
        for notice in self.notices:
            latest[notice.fingerprint] = notice
        return {fp: a for fp, a in latest.items() if a.status == "firing"}


def _raw(value: Any) -> bytes:
    # Byte for byte what `tranchewatch publish` would put on the topic.
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


async def _replay(
    records: Iterable[Record],
    rules: RulesConfig,
    batch_size: int,
    progress: Progress | None,
    retire_after: dt.timedelta | None,
) -> tuple[MemoryStore, Metrics, HeldDeadLetters]:
    store, metrics, dead = MemoryStore(), Metrics(), HeldDeadLetters()
    handler = BatchHandler(store, rules, dead, metrics, retire_after=retire_after)
    # Each record is stamped as `tranchewatch publish` would stamp it now (the producer's CreateTime),
    # so a quote stamped in the future is a future_timestamp dead letter here as in the worker.
    envelopes = (
        Envelope(topic, 0, offset, message_key(topic, value), _raw(value), time.monotonic(), time.time())
        for offset, (topic, value) in enumerate(records)
    )
    done = 0

    async def report(batch: list[Envelope]) -> None:
        nonlocal done
        done += len(batch)
        if progress is not None:
            progress(done)

    await drive(handler, envelopes, batch_size, report)
    return store, metrics, dead


def _counts(metrics: Metrics) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for topic in INPUT_TOPICS:
        row = {
            outcome: int(
                metrics.registry.get_sample_value(
                    "tranchewatch_events_total", {"topic": topic, "outcome": outcome}
                )
                or 0
            )
            for outcome in OUTCOMES
        }
        if any(row.values()):
            counts[topic] = row
    return counts


def run_backtest(
    records: Iterable[Record],
    rules: RulesConfig,
    *,
    label: str = "rules",
    batch_size: int = 500,
    progress: Progress | None = None,
    retire_after: dt.timedelta | None = DEFAULT_GRACE,
) -> BacktestRun:
    """`retire_after`: the worker's TRANCHEWATCH_RETIRE_AFTER_DAYS, so that matured tranches retire as there."""
    store, metrics, dead = asyncio.run(_replay(records, rules, batch_size, progress, retire_after))
    reasons = []
    for *_, headers in dead.records:
        named = dict(headers)
        reasons.append((named["tw-source-topic"].decode(), named["tw-reason"].decode()))
    return BacktestRun(label, rules, list(store.outbox), store, _counts(metrics), reasons)
