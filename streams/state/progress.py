"""The progress the commits record: for every (topic, partition) the worker consumes, the highest Kafka offset
of a batch whose state is committed in Redis.

Stored in the hash `{prefix}offsets` (`StateKeys.offsets`, streams/state/keys.py), field `{topic}:{partition}`, value the offset as a decimal string (Lua
would print a number past 14 digits rounded). The commit script (streams/state/store.py) writes it in the same
atomic step as the documents, the event ids and the outbox notices, and only upwards; a batch carries the
offsets it loaded and conflicts if another worker moved them meanwhile (then it is judged again on fresh
state, as for a document that changed).

What it is for:
- A record at or below its partition's offset was committed before: a redelivery after a crash or a
  rebalance. Its dead letter may already be on `tranchewatch.deadletter`, so the dead-letter ledger
  (streams/ingest/deadletter.py) checks the topic before publishing it again.
- It is Redis's own account of how far it got (`streams.state.store.read_progress`), independent of the consumer group's committed offsets (which
  move about a second later, and only after this): comparing the two tells whether Redis lost state that
  Kafka believes it has, and from where to rebuild it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

TopicPartition = tuple[str, int]
NONE = -1  # the offset recorded for a partition no commit has covered yet


def field_of(tp: TopicPartition) -> str:
    return f"{tp[0]}:{tp[1]}"


def parse_field(name: str) -> TopicPartition:
    topic, _, partition = name.rpartition(":")
    return topic, int(partition)


def batch_positions(records: Iterable[tuple[str, int, int]]) -> dict[TopicPartition, int]:
    """The highest offset of each (topic, partition) among (topic, partition, offset) records."""
    out: dict[TopicPartition, int] = {}
    for topic, partition, offset in records:
        if offset > out.get((topic, partition), NONE):
            out[(topic, partition)] = offset
    return out


def moved(
    positions: Mapping[TopicPartition, int], loaded: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The positions a commit raises: those past what was loaded."""
    return {tp: off for tp, off in positions.items() if off > loaded.get(tp, NONE)}
