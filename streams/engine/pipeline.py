"""One batch, start to end: parse, drop duplicates, load state, apply and judge, commit, count.

Nothing here knows about faust; the agents hand in envelopes and acknowledge them once this returns.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from alerts.core.model import Alert
from streams.engine import quote_checks
from streams.engine.apply import apply_event
from streams.engine.families import settle_families
from streams.ingest.deadletter import DEFAULT_READ_BACK, DeadLetterPublisher, Envelope, send_dead_letters
from streams.ingest.parse import Rejected, parse
from streams.metrics import Metrics
from streams.model.events import Event, Quote
from streams.model.positions import Positions
from streams.model.retirement import DEFAULT_GRACE
from streams.rules.registry import RulesConfig
from streams.state.cache import StateCache
from streams.state.guard import StateGuard
from streams.state.marker import STATE_LOST, StateLost
from streams.state.progress import NONE, TopicPartition, batch_positions, moved
from streams.state.snapshot import Commit, StateStore, load_snapshot

log = logging.getLogger(__name__)
# How long (in event time, before its topic's newest) an event id is remembered: TRANCHEWATCH_DEDUP_RETENTION_DAYS.
DEFAULT_RETENTION = dt.timedelta(days=7)


class BatchHandler:
    def __init__(
        self,
        store: StateStore,
        rules: RulesConfig,
        deadletters: DeadLetterPublisher,
        metrics: Metrics,
        *,
        retry_max_seconds: float = 5.0,
        cache: StateCache | None = None,
        deadletter_read_back: int = DEFAULT_READ_BACK,
        dedup_retention: dt.timedelta = DEFAULT_RETENTION,
        guard: StateGuard | None = None,
        retire_after: dt.timedelta | None = DEFAULT_GRACE,
        positions: Callable[[], Positions | None] = lambda: None,
    ) -> None:
        """`retire_after`: tranches retire this long after maturity on the event-time clock
        (streams/engine/retire.py; TRANCHEWATCH_RETIRE_AFTER_DAYS); None: never."""
        self.store = store
        self.rules = rules
        self.deadletters = deadletters
        self.metrics = metrics
        self.retry_max_seconds = retry_max_seconds
        self.redis_healthy = True
        self.cache = cache
        self.deadletter_read_back = deadletter_read_back
        self.dedup_retention = dedup_retention
        self.guard = guard or StateGuard()
        self.retire_after = retire_after
        self.positions = positions  # the holdings in force (TRANCHEWATCH_POSITIONS_FILE), for evidence

    async def handle(self, batch: list[Envelope]) -> list[Alert]:
        """Returns the notices committed. Never raises for the batch's content, and waits out outages of
        Redis or the broker instead of dropping anything: the caller acknowledges only after it returns."""
        valid: list[tuple[Envelope, Event]] = []
        rejected: list[tuple[Envelope, Rejected]] = []
        for env in batch:
            result = parse(env.topic, env.value)
            if isinstance(result, Quote):
                ahead = quote_checks.ahead_of_record(result, env.timestamp, self.rules.future_timestamp)
                if ahead is not None:
                    result = Rejected(env.topic, env.value or b"", ahead.reason, ahead.kind)
            if isinstance(result, Rejected):
                rejected.append((env, result))
            else:
                valid.append((env, result))
        positions = batch_positions((env.topic, env.partition, env.offset) for env in batch)
        try:
            done = await self._commit_with_retry(valid, positions)
        except Exception as exc:  # a bug met by some event: find it, dead-letter it, keep the rest
            log.exception("batch of %d failed (%s); isolating the events that cause it", len(valid), exc)
            done = await self._isolate(valid, positions)
        # Events the rules refused or failed on are dead letters, not processed events.
        rejected.extend(done.refused)
        refused_envs = {id(env) for env, _ in done.refused}
        valid = [(env, event) for env, event in valid if id(env) not in refused_envs]
        await self._dead_letter(rejected, done.loaded)
        self._count(batch, valid, rejected, done.duplicates, done.notices)
        return done.notices

    async def _isolate(
        self, valid: list[tuple[Envelope, Event]], positions: dict[TopicPartition, int]
    ) -> Committed:
        done = Committed()
        for env, event in valid:
            # Each commit loads the batch's progress (for its dead letters) but raises only its own event's.
            own = dict.fromkeys(positions, NONE) | {(env.topic, env.partition): env.offset}
            try:
                done.add(await self._commit_with_retry([(env, event)], own))
            except Exception as exc:
                log.exception("%s could not be processed", env.where)
                reason = f"processing failed: {type(exc).__name__}: {exc}"
                done.refused.append((env, Rejected(env.topic, env.value or b"", reason, "processing_error")))
        # The whole batch's progress, past the events that failed (their dead letters follow).
        done.add(await self._commit_with_retry([], positions))
        return done

    async def _dead_letter(
        self, rejected: list[tuple[Envelope, Rejected]], loaded: dict[TopicPartition, int]
    ) -> None:
        # A record at or below its partition's committed progress came before: its dead letter may be out.
        in_doubt = {
            env.ledger_key
            for env, _ in rejected
            if env.offset <= loaded.get((env.topic, env.partition), NONE)
        }
        attempt = 0
        while True:
            try:
                await send_dead_letters(self.deadletters, rejected, in_doubt, self.deadletter_read_back)
                return
            except Exception as exc:  # the broker's client raises many types; none may lose a dead letter
                attempt += 1
                in_doubt = {env.ledger_key for env, _ in rejected}  # part of the publish may have landed
                log.error("dead-letter publish failed (%s); retrying (attempt %d)", exc, attempt)
                await asyncio.sleep(min(self.retry_max_seconds, 0.1 * 2**attempt))

    def _count(
        self,
        batch: list[Envelope],
        valid: list[tuple[Envelope, Event]],
        rejected: list[tuple[Envelope, Rejected]],
        duplicates: dict[str, int],
        notices: list[Alert],
    ) -> None:
        done = time.monotonic()
        for env in batch:
            self.metrics.processing.observe(done - env.arrived)
        self.metrics.batch_size.observe(len(batch))
        for env, rej in rejected:
            self.metrics.events.labels(env.topic, "invalid").inc()
            self.metrics.deadletters.labels(env.topic, rej.kind).inc()
        for topic, count in duplicates.items():
            self.metrics.events.labels(topic, "duplicate").inc(count)
        processed: dict[str, int] = defaultdict(int)
        for env, _ in valid:
            processed[env.topic] += 1
        for topic, count in processed.items():
            self.metrics.events.labels(topic, "processed").inc(count - duplicates.get(topic, 0))
        for alert in notices:
            self.metrics.alerts.labels(alert.rule, alert.severity, alert.status).inc()

    async def _commit_with_retry(
        self, valid: list[tuple[Envelope, Event]], positions: dict[TopicPartition, int]
    ) -> Committed:
        attempt = 0
        while True:
            if self.guard.blocked:
                # Held, not acknowledged: consumption stops here until the reason is resolved.
                await asyncio.sleep(self.retry_max_seconds)
                continue
            try:
                result = await self._try_commit(valid, positions)
            except StateLost as exc:  # nothing was written; held until an operator rebuilds and restarts
                if self.cache is not None:
                    self.cache.clear()
                self.guard.block(STATE_LOST, str(exc))
                continue
            except self.store.unavailable_errors as exc:
                # Holding the batch (not acknowledging it) is what stops consumption during an outage.
                attempt += 1
                if self.cache is not None:
                    self.cache.clear()  # Redis may have restarted and lost what the cache mirrors
                self._unhealthy("commit", exc, attempt)
                await asyncio.sleep(min(self.retry_max_seconds, 0.1 * 2**attempt))
                continue
            if result is None:
                self.metrics.commit_conflicts.inc()
                continue  # someone changed our documents: load again and re-judge
            self.redis_healthy = True
            return result

    def _unhealthy(self, operation: str, exc: Exception, attempt: int) -> None:
        self.redis_healthy = False
        self.metrics.redis_errors.labels(operation).inc()
        if attempt == 1 or attempt % 20 == 0:
            log.error(
                "redis %s failed (%s); holding the batch and retrying (attempt %d)", operation, exc, attempt
            )

    async def _try_commit(
        self, valid: list[tuple[Envelope, Event]], positions: dict[TopicPartition, int]
    ) -> Committed | None:
        (fresh, duplicates), loaded = await asyncio.gather(
            self._drop_duplicates(valid), self.store.positions(positions)
        )
        raised = moved(positions, loaded)
        fresh = await self._drop_forgotten_redeliveries(fresh, loaded, duplicates)
        if not fresh:
            if raised:  # nothing to apply, but the progress moves (dead letters, duplicates)
                commit = Commit({}, {}, [], [], positions=raised, loaded_positions=_subset(loaded, raised))
                if not await self.store.commit(commit):
                    return None
            await self.store.confirm()  # an unconfirmed earlier commit of these events: replicated now?
            return Committed([], duplicates, loaded)
        started = time.monotonic()
        events = [event for _, event in fresh]
        snap = await load_snapshot(
            self.store,
            events,
            self.cache,
            self.rules.stale_quote,
            self.retire_after,
            overdue=self.rules.distribution_overdue,
        )
        snap.positions = self.positions()
        loaded_at = time.monotonic()
        self.metrics.redis_seconds.labels("load").observe(loaded_at - started)
        refused: list[tuple[Envelope, Rejected]] = []
        for env, event in fresh:
            said_no = apply_event(snap, env.topic, event, self.rules)
            if said_no is not None:
                refused.append((env, Rejected(env.topic, env.value or b"", said_no.reason, said_no.kind)))
        await settle_families(snap, self.store, self.cache, self.rules)  # family_stress, after the events
        judged = time.monotonic()
        self.metrics.rule_seconds.observe(judged - loaded_at)
        commit = snap.to_commit()
        commit.positions, commit.loaded_positions = raised, _subset(loaded, raised)
        commit.seen_at = {(env.topic, event.event_id): event.event_time for env, event in fresh}
        commit.retention = self.dedup_retention
        ok = await self.store.commit(commit)
        self.metrics.redis_seconds.labels("commit").observe(time.monotonic() - judged)
        if not ok:
            return None
        if self.cache is not None:
            snap.remember(self.cache)
        return Committed(snap.notices, duplicates, loaded, refused)

    async def _drop_forgotten_redeliveries(
        self,
        fresh: list[tuple[Envelope, Event]],
        loaded: dict[TopicPartition, int],
        duplicates: dict[str, int],
    ) -> list[tuple[Envelope, Event]]:
        """Event ids are kept for `dedup_retention` of event time; a redelivered event older than that is
        known by its offset instead: at or below its partition's committed progress. An event there whose id
        is unknown but within the retention was never applied (a topic re-created from offset 0): applied."""
        again = [(env, ev) for env, ev in fresh if env.offset <= loaded.get((env.topic, env.partition), NONE)]
        if not again:
            return fresh
        horizons = {
            topic: await self.store.forgotten_before(topic, self.dedup_retention)
            for topic in {env.topic for env, _ in again}
        }
        forgotten: set[int] = set()
        for env, event in again:
            horizon = horizons[env.topic]
            if horizon is not None and event.event_time < horizon:
                forgotten.add(id(env))
                duplicates[env.topic] = duplicates.get(env.topic, 0) + 1
                log.info("%s redelivered, older than the id retention: ignored by its offset", env.where)
        return [(env, event) for env, event in fresh if id(env) not in forgotten]

    async def _drop_duplicates(
        self, valid: list[tuple[Envelope, Event]]
    ) -> tuple[list[tuple[Envelope, Event]], dict[str, int]]:
        by_topic: dict[str, list[str]] = defaultdict(list)
        for env, event in valid:
            by_topic[env.topic].append(event.event_id)
        already: dict[str, set[str]] = {}
        for topic, ids in by_topic.items():
            already[topic] = await self.store.seen(topic, ids)
        fresh: list[tuple[Envelope, Event]] = []
        duplicates: dict[str, int] = defaultdict(int)
        for env, event in valid:
            seen = already[env.topic]
            if event.event_id in seen:
                duplicates[env.topic] += 1
                log.info("%s duplicate event_id %s ignored", env.where, event.event_id)
                continue
            seen.add(event.event_id)
            fresh.append((env, event))
        return fresh, dict(duplicates)


@dataclass
class Committed:
    """What a batch's commits produced: the notices, duplicates by topic, the progress loaded before the
    first of them, and the events the rules refused (dead letters, not processed events)."""

    notices: list[Alert] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    loaded: dict[TopicPartition, int] = field(default_factory=dict)
    refused: list[tuple[Envelope, Rejected]] = field(default_factory=list)
    _first: bool = True

    def add(self, more: Committed) -> None:
        self.notices.extend(more.notices)
        self.refused.extend(more.refused)
        for topic, count in more.duplicates.items():
            self.duplicates[topic] = self.duplicates.get(topic, 0) + count
        if self._first:  # later commits of the batch see its own progress, not what came before it
            self.loaded, self._first = more.loaded, False


def _subset(loaded: dict[TopicPartition, int], keys: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    return {tp: loaded.get(tp, NONE) for tp in keys}
