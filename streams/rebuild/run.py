"""One rebuild, start (or resume) to finish.

1. Refuse what is not a lost state: a marker `live` (nothing to rebuild), documents without a marker
   (delete them first), an evicting Redis (it would lose the rebuilt state too).
2. Set the marker `rebuilding` with a token of this rebuild (kept on resume): workers refuse the state
   until step 6, and only commits carrying the token are accepted.
3. Take every receiver's outbox lease, so no worker sends while the outbox fills with replayed notices.
4. Mark in every receiver's nflog what the ledgers show as sent (streams/rebuild/ledger.py).
5. Replay the input topics from their earliest retained offsets to the ends fixed at the start
   (streams/kafka/history.py) through the worker's BatchHandler; dead letters are counted, not sent again.
   After each batch the positions are stored in Redis: an interrupted rebuild resumes from them.
6. Refill what receivers keep beside the nflog (the Alertmanager re-posts: streams/rebuild/receivers.py).
   Set the marker `live`, drop the positions, release the leases. The workers are then started by the
   operator: a worker that saw the state lost has stopped its sender and must start afresh anyway, and
   the rebuild cannot restart processes it does not own. Events that arrived during the rebuild are read
   by the workers from the group's offsets; those the rebuild already applied are dropped by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from alerts.delivery.nflog import NotificationLog
from alerts.delivery.outbox import Outbox
from alerts.delivery.sender import LEASE_MS
from streams.backtest.replay import HeldDeadLetters, drive
from streams.engine.pipeline import BatchHandler
from streams.ingest.deadletter import Envelope
from streams.kafka.history import Position, TopicHistory
from streams.kafka.producer import KafkaPublisher
from streams.kafka.topics import INPUT_TOPICS
from streams.metrics import Metrics
from streams.model.positions import PositionBook
from streams.rebuild.ledger import count_unsent, ledger_topics, mark_sent, sent_on_ledgers
from streams.rebuild.receivers import restore_alertmanager
from streams.redis_client import async_redis
from streams.rules.registry import RulesConfig
from streams.security import kafka_client_options
from streams.settings import Settings
from streams.state.cache import StateCache
from streams.state.guard import StateGuard
from streams.state.keys import MARKET_KEY, StateKeys
from streams.state.labels import StateLabels
from streams.state.marker import LIVE, REBUILDING, MarkerMode, decode_marker
from streams.state.redis_policy import judge, read_policy
from streams.state.store import RedisStore
from streams.worker.runtime import load_routing_config

log = logging.getLogger(__name__)
Say = Callable[[str], None]
# The marker `rebuilding` with its token, whole, and only where there is none.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'rebuilding', 'token', ARGV[1], 'since', ARGV[2], 'by', 'rebuild')
return 1
"""


class RebuildRefused(Exception):
    """The state is not one to rebuild now; the message says why and what to do."""


class RebuildAborted(BaseException):
    """The marker changed under the rebuild. A BaseException: the handler turns an Exception met while
    handling into dead letters, which would be wrong here."""


class _AbortingGuard(StateGuard):
    def block(self, kind: str, reason: str) -> None:
        raise RebuildAborted(reason)


@dataclass
class RebuildReport:
    resumed: bool
    events: int = 0
    total: int = 0
    ledger_notices: int = 0  # fingerprints whose notices the ledgers show as sent
    notices: int = 0  # transitions recorded by the replay (outbox and alert history)
    to_send: int = 0  # of which the ledgers do not show: sent once the workers start
    dead_letters: int = 0
    alertmanager: int = 0  # firing alerts handed back to the Alertmanager receivers' re-posts
    retention_gaps: list[str] = field(default_factory=list)  # partitions whose history no longer starts at 0


def _key(position: Position) -> str:
    return f"{position[0]}:{position[1]}"


def _position(text: str) -> Position:
    topic, _, partition = text.rpartition(":")
    return topic, int(partition)


class Rebuild:
    def __init__(
        self,
        settings: Settings,
        rules: RulesConfig | None = None,
        *,
        say: Say = print,
        batch_size: int | None = None,
        progress_every: int = 10_000,
    ) -> None:
        self.settings = settings
        self.rules = rules or RulesConfig.load(settings.rules_file)
        self.prefix = settings.redis_prefix
        self.keys = StateKeys(self.prefix)
        self.say = say
        self.batch_size = batch_size or settings.batch_size
        self.progress_every = progress_every
        self.redis = async_redis(settings, socket_timeout=30)
        self.routing = load_routing_config(settings)
        self.outbox = Outbox(self.redis, self.prefix)
        # The worker's positions, so the replayed alerts' evidence and the labels handed to Alertmanager
        # name the holdings a worker would (those in force now: the file keeps no history).
        self.positions = PositionBook.load(settings.positions_file)

    async def run(self) -> RebuildReport:
        try:
            token, resumed = await self._begin()
            report = RebuildReport(resumed)
            owner = f"rebuild:{token}"  # the same on resume: a resumed rebuild retakes its own leases at once
            renewing = asyncio.create_task(self._hold_leases(owner))
            try:
                await self._leases_taken(owner)
                seqs = await self._ledger()
                report.ledger_notices = len(seqs)
                await self._replay(token, report)
                report.notices, report.to_send = await count_unsent(self.redis, self.keys.alerts.outbox, seqs)
                store = RedisStore(self.redis, self.prefix)
                report.alertmanager = await restore_alertmanager(
                    self.redis, self.prefix, self.routing, StateLabels(store, lambda: self.positions.current)
                )
                await self._finish(owner)
            finally:
                renewing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewing
            return report
        finally:
            await self.redis.aclose()

    async def _begin(self) -> tuple[str, bool]:
        verdict = judge(await read_policy(self.redis), self.settings.allow_evicting_redis)
        if not verdict.run:
            raise RebuildRefused(verdict.message)
        marker = decode_marker(await self.redis.hgetall(self.keys.marker))  # type: ignore[arg-type]
        status = marker.get("status")
        if status == LIVE:
            raise RebuildRefused(
                f"the state under {self.prefix!r} is live (marker {self.keys.marker}): nothing to rebuild"
            )
        if status == REBUILDING:
            self.say(
                f"resuming the rebuild started at {marker.get('since', '?')} (token {marker.get('token')})"
            )
            return marker.get("token", ""), True
        # Keys that exist only where a state was written: one of them without a marker is not an empty state.
        k = self.keys
        state_keys = (k.doc(MARKET_KEY), k.clock, k.alerts.active, k.alerts.outbox)
        left = [key.removeprefix(self.prefix) for key in state_keys if await self.redis.exists(key)]
        if left:
            raise RebuildRefused(
                f"no state marker, but state keys remain under {self.prefix!r} ({', '.join(left)}): a rebuild "
                "starts from an empty state; delete the prefix's state keys first"
            )
        token = uuid.uuid4().hex
        if not await self.redis.eval(_CLAIM, 1, self.keys.marker, token, str(int(time.time()))):
            raise RebuildRefused("another rebuild or a worker wrote the marker just now; run again")
        return token, False

    async def _leases_taken(self, owner: str) -> None:
        """Every receiver's lease, waiting out one lease period for a sender that is stopping."""
        deadline = time.monotonic() + LEASE_MS / 1000 + 2
        for name in self.routing.receivers:
            while not await self.outbox.hold_lease(name, owner, LEASE_MS):
                if time.monotonic() > deadline:
                    raise RebuildRefused(
                        f"a running worker still sends for receiver {name!r}: stop the workers first"
                    )
                await asyncio.sleep(0.5)

    async def _hold_leases(self, owner: str) -> None:
        while True:
            await asyncio.sleep(LEASE_MS / 3000)
            for name in self.routing.receivers:
                await self.outbox.hold_lease(name, owner, LEASE_MS)

    async def _ledger(self) -> dict[str, int]:
        topics = ledger_topics(self.routing)
        publisher = KafkaPublisher(
            self.settings.kafka_bootstrap,
            f"{self.settings.app_id}-rebuild",
            **kafka_client_options(self.settings),
        )
        try:
            seqs = await sent_on_ledgers(publisher, topics)
        finally:
            publisher.close()
        await mark_sent(NotificationLog(self.redis, self.prefix), self.routing.receivers, seqs)
        where = ", ".join(topics) or "no Kafka receiver"
        self.say(f"ledger ({where}): notices of {len(seqs)} alerts already sent; they are not sent again")
        return seqs

    async def _replay(self, token: str, report: RebuildReport) -> None:
        history = TopicHistory(
            {
                "bootstrap_servers": self.settings.kafka_bootstrap.split(","),
                **kafka_client_options(self.settings),
            },
            list(INPUT_TOPICS),
        )
        try:
            positions, ends = await self._bounds(history, report)
            report.total = sum(max(0, ends[p] - positions[p]) for p in ends)
            self.say(f"replaying {report.total:,} events of {', '.join(INPUT_TOPICS)}")
            cache = (
                StateCache(self.settings.state_cache_entries) if self.settings.state_cache_entries else None
            )
            store = RedisStore(
                self.redis,
                self.prefix,
                MarkerMode("rebuild", token),
                price_points=self.settings.price_history_points,
            )
            dead = HeldDeadLetters()
            handler = BatchHandler(
                store, self.rules, dead, Metrics(), retry_max_seconds=self.settings.redis_retry_max_seconds,
                cache=cache, guard=_AbortingGuard(), positions=lambda: self.positions.current,
                retire_after=dt.timedelta(days=self.settings.retire_after_days),
            )  # fmt: skip
            next_report = self.progress_every

            async def after(batch: list[Envelope]) -> None:
                nonlocal next_report
                for env in batch:
                    positions[(env.topic, env.partition)] = env.offset + 1
                await self._save(positions, ends)
                report.events += len(batch)
                if self.progress_every and report.events >= next_report:
                    next_report += self.progress_every
                    self.say(f"rebuild: {report.events:,} of {report.total:,} events")

            await drive(handler, history.read(positions, ends), self.batch_size, after)
            report.dead_letters = len(dead.records)
        finally:
            history.close()

    async def _bounds(
        self, history: TopicHistory, report: RebuildReport
    ) -> tuple[dict[Position, int], dict[Position, int]]:
        starts, ends = history.bounds()
        for position, start in sorted(starts.items()):
            if start > 0:
                report.retention_gaps.append(f"{position[0]}[{position[1]}] from offset {start}")
        if report.retention_gaps:
            self.say(
                "history no longer complete (retention deleted the start): "
                + "; ".join(report.retention_gaps)
                + ". The rebuilt state lacks what those records built (README, When Redis loses its data)"
            )
        positions = dict(starts)
        if report.resumed:
            stored = await self.redis.hgetall(self.keys.rebuild_positions)
            stored_ends = await self.redis.hgetall(self.keys.rebuild_ends)
            for name, value in decode_marker(stored).items():  # type: ignore[arg-type]
                positions[_position(name)] = int(value)
            for name, value in decode_marker(stored_ends).items():  # type: ignore[arg-type]
                ends[_position(name)] = int(value)
            done = sum(positions[p] - starts[p] for p in starts)
            self.say(f"resuming after {done:,} events already replayed")
        await self._save(positions, ends)
        return positions, ends

    async def _save(self, positions: dict[Position, int], ends: dict[Position, int]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.rebuild_positions, mapping={_key(p): o for p, o in positions.items()})
        pipe.hset(self.keys.rebuild_ends, mapping={_key(p): o for p, o in ends.items()})
        await pipe.execute()

    async def _finish(self, owner: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(
            self.keys.marker,
            mapping={"status": LIVE, "by": "rebuild", "since": str(int(time.time()))},
        )
        pipe.hdel(self.keys.marker, "token")
        pipe.delete(self.keys.rebuild_positions, self.keys.rebuild_ends)
        await pipe.execute()
        for name in self.routing.receivers:
            await self.outbox.release_lease(name, owner)
