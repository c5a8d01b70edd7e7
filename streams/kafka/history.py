"""The input topics' retained history, read back in one deterministic order without a consumer group.

A rebuild must give the state an uninterrupted run would have, and the same state again when it is
interrupted and resumed. Each partition is read in offset order (as the worker reads it); across
partitions and topics the next record is the one appended first (record timestamp), ties broken by topic
(reference data before prices: deals, financials, then the rest, quotes last), partition and offset. The
order is a function of the positions alone, so resuming from the positions a run stopped at continues
the very sequence it would have.

The ends are fixed when a rebuild starts (and stored for a resume); what arrives later is the worker's to
consume. On Tansu the listed end offset can fall short of the last record (it lists the last batch's base
offset + 1), so each end is checked by a fetch (see streams/kafka/producer.py).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator, Mapping
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams.ingest.deadletter import Envelope
from streams.kafka.topics import DEALS, FINANCIALS, QUOTES

Position = tuple[str, int]  # (topic, partition)
FETCH_TIMEOUT_SECONDS = 60.0


def topic_rank(topic: str) -> int:
    """Reference data first, quotes last, other (v2) topics between, by name."""
    return {DEALS: 0, FINANCIALS: 1, QUOTES: 3}.get(topic, 2)


def _order(record: Any) -> tuple[int, int, str, int, int]:
    return (record.timestamp, topic_rank(record.topic), record.topic, record.partition, record.offset)


def _envelope(record: Any) -> Envelope:
    # The record's own timestamp, in seconds as the worker's agents pass it (future_timestamp reads it).
    stamp = record.timestamp / 1000 if record.timestamp is not None and record.timestamp > 0 else None
    return Envelope(
        record.topic, record.partition, record.offset, record.key, record.value, time.monotonic(), stamp
    )


class TopicHistory:
    def __init__(self, client_options: Mapping[str, Any], topics: list[str]) -> None:
        self._consumer = KafkaConsumer(**client_options, group_id=None, enable_auto_commit=False)
        self.partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(self._consumer.partitions_for_topic(topic) or ())
        ]

    def bounds(self) -> tuple[dict[Position, int], dict[Position, int]]:
        """(earliest retained offset, end offset) of every partition now. The listed end is checked by a
        fetch of the record before it: its response's high watermark is the true end (Tansu lists less)."""
        starts = self._consumer.beginning_offsets(self.partitions)
        ends = dict(self._consumer.end_offsets(self.partitions))
        probing = {tp for tp in self.partitions if ends[tp] > starts[tp]}
        self._consumer.assign(sorted(probing, key=lambda tp: (tp.topic, tp.partition)))
        for tp in probing:
            self._consumer.seek(tp, ends[tp] - 1)
        deadline = time.monotonic() + FETCH_TIMEOUT_SECONDS
        while probing:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"no answer from the broker for {FETCH_TIMEOUT_SECONDS:.0f}s about {probing}"
                )
            for tp, records in self._consumer.poll(timeout_ms=200).items():
                last = max((r.offset + 1 for r in records), default=0)
                ends[tp] = max(ends[tp], self._consumer.highwater(tp) or 0, last)
                probing.discard(tp)
        self._consumer.assign([])
        return (
            {(tp.topic, tp.partition): starts[tp] for tp in self.partitions},
            {(tp.topic, tp.partition): ends[tp] for tp in self.partitions},
        )

    def read(self, positions: Mapping[Position, int], ends: Mapping[Position, int]) -> Iterator[Envelope]:
        """Envelopes from `positions` up to `ends` (from `bounds`, kept for a resume), merged as above."""
        fetched = {tp: positions[(tp.topic, tp.partition)] for tp in self.partitions}  # next offset to fetch
        end = {tp: ends[(tp.topic, tp.partition)] for tp in self.partitions}
        buffers: dict[TopicPartition, collections.deque[Any]] = {
            tp: collections.deque() for tp in self.partitions
        }
        while True:
            self._fill(buffers, fetched, end)
            heads = [tp for tp in self.partitions if buffers[tp]]
            if not heads:
                return
            tp = min(heads, key=lambda t: _order(buffers[t][0]))
            record = buffers[tp].popleft()
            yield _envelope(record)

    def _fill(
        self,
        buffers: dict[TopicPartition, collections.deque[Any]],
        fetched: dict[TopicPartition, int],
        end: dict[TopicPartition, int],
    ) -> None:
        """Fetches until every partition with records left has one buffered: only then is the smallest head
        the smallest record, whatever the fetches happened to return first. Only the partitions that ran
        dry are assigned, so the others' buffers stay at what one fetch brought."""
        needy = [tp for tp in self.partitions if not buffers[tp] and fetched[tp] < end[tp]]
        if not needy:
            return
        self._consumer.assign(needy)
        for tp in needy:
            self._consumer.seek(tp, fetched[tp])
        deadline = time.monotonic() + FETCH_TIMEOUT_SECONDS
        while needy:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no records from the broker for {FETCH_TIMEOUT_SECONDS:.0f}s mid-history")
            for tp, records in self._consumer.poll(timeout_ms=200).items():
                buffers[tp].extend(r for r in records if r.offset < end[tp])
                fetched[tp] = max(fetched[tp], records[-1].offset + 1) if records else fetched[tp]
            for tp in needy:  # the fetch position also passes offsets that hold no record (compaction)
                fetched[tp] = max(fetched[tp], self._consumer.position(tp))
            needy = [tp for tp in needy if not buffers[tp] and fetched[tp] < end[tp]]

    def close(self) -> None:
        self._consumer.close()
