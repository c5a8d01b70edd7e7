"""Invalid input goes to the dead-letter topic: the original bytes as the value, the why in headers.

Exactly once across crashes, the way `abs.alerts` is (alerts/notify/kafka.py): the topic is its own ledger,
each record keyed by where its message came from (headers `tw-source-topic`, `-partition`, `-offset`). Dead
letters are published after the batch's state commit and before its offsets are acknowledged, so a worker
killed in between has published dead letters whose messages come back. Those are known: their offsets are
at or below the progress the commits recorded (streams/state/progress.py). For them alone, the newest
records of each partition of the dead-letter topic are read back, and a dead letter found there is not
published again. Fresh dead letters (past the recorded progress) never cost a read-back.

The read-back covers the newest `read_back` records per partition (TRANCHEWATCH_DEADLETTER_READ_BACK,
default 10,000): what a predecessor published between its last offset commit (faust commits every second)
and its death must lie within them, which holds unless the dead-letter topic takes more than that many
records per partition in a second.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from streams.ingest.parse import MAX_MESSAGE_BYTES, Rejected
from streams.model.topics import DEADLETTER

log = logging.getLogger(__name__)
# Past the producer's request limit (1 MiB) a dead letter could never be published, and retrying it forever
# would stall its partition: an oversized message goes with its first bytes, size and digest instead.
TRUNCATED_HEAD_BYTES = 64 * 1024
DEFAULT_READ_BACK = 10_000


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message as it came off the broker, with where it came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    arrived: float  # monotonic seconds
    # The Kafka record's timestamp (epoch seconds; CreateTime, or LogAppendTime if the topic says so),
    # None when the record has none: the future_timestamp check compares a quote's own time with it.
    timestamp: float | None = None

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @property
    def ledger_key(self) -> bytes:
        """Where it came from, as the dead-letter ledger knows a record: topic:partition:offset."""
        return f"{self.topic}:{self.partition}:{self.offset}".encode()


class DeadLetterPublisher(Protocol):
    async def publish_many(
        self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None: ...

    async def tail_headers(self, topic: str, per_partition: int) -> list[list[tuple[str, bytes]]]:
        """The headers of the newest `per_partition` records of every partition of `topic`."""
        ...


class KeptDeadLetters:
    """A DeadLetterPublisher in memory (replays and tests): keeps the records, reads back their tail."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = []

    async def publish_many(
        self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        self.records.extend(records)

    async def tail_headers(self, topic: str, per_partition: int) -> list[list[tuple[str, bytes]]]:
        return [r[3] for r in self.records if r[0] == topic][-per_partition:]


def ledger_key_of(headers: list[tuple[str, bytes]]) -> bytes | None:
    """The ledger key of a dead letter read back from the topic; None for a record without its source."""
    found = dict(headers)
    parts = [found.get(f"tw-source-{name}") for name in ("topic", "partition", "offset")]
    if any(p is None for p in parts):
        return None
    return b":".join(p for p in parts if p is not None)


def dead_letter_record(
    env: Envelope, rejected: Rejected
) -> tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]:
    value = env.value or b""
    headers = [
        ("tw-source-topic", env.topic.encode()),
        ("tw-source-partition", str(env.partition).encode()),
        ("tw-source-offset", str(env.offset).encode()),
        ("tw-reason", rejected.reason.encode()[:2000]),
        ("tw-reason-kind", rejected.kind.encode()),
    ]
    if len(value) > MAX_MESSAGE_BYTES:
        headers += [
            ("tw-truncated-from-bytes", str(len(value)).encode()),
            ("tw-original-sha256", hashlib.sha256(value).hexdigest().encode()),
        ]
        value = value[:TRUNCATED_HEAD_BYTES]
    key = env.key[:TRUNCATED_HEAD_BYTES] if env.key is not None else None
    return (DEADLETTER, key, value, headers)


async def send_dead_letters(
    publisher: DeadLetterPublisher,
    items: list[tuple[Envelope, Rejected]],
    in_doubt: Collection[bytes] = (),
    read_back: int = DEFAULT_READ_BACK,
) -> None:
    """Awaited before the batch is acknowledged, so a dead letter is never lost with its offset. Those whose
    ledger key is `in_doubt` are published only if the topic's newest records do not hold them already."""
    if not items:
        return
    doubtful = [env for env, _ in items if env.ledger_key in in_doubt]
    if doubtful:
        tails = await publisher.tail_headers(DEADLETTER, read_back)
        published = {key for headers in tails if (key := ledger_key_of(headers)) is not None}
        repeats = {env.ledger_key for env in doubtful} & published
        if repeats:
            log.info(
                "%d dead letters of redelivered messages already published; not sent again", len(repeats)
            )
            items = [(env, rej) for env, rej in items if env.ledger_key not in repeats]
    for env, rejected in items:
        log.warning("%s rejected: %s", env.where, rejected.reason)
    if items:
        await publisher.publish_many([dead_letter_record(env, rej) for env, rej in items])
