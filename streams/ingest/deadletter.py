"""Invalid input goes to the dead-letter topic: the original bytes as the value, the why in headers."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Protocol

from streams.ingest.parse import MAX_MESSAGE_BYTES, Rejected
from streams.model.topics import DEADLETTER

log = logging.getLogger(__name__)
# Past the producer's request limit (1 MiB) a dead letter could never be published, and retrying it forever
# would stall its partition: an oversized message goes with its first bytes, size and digest instead.
TRUNCATED_HEAD_BYTES = 64 * 1024


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


class DeadLetterPublisher(Protocol):
    async def publish_many(
        self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None: ...


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


async def send_dead_letters(publisher: DeadLetterPublisher, items: list[tuple[Envelope, Rejected]]) -> None:
    """Awaited before the batch is acknowledged, so a dead letter is never lost with its offset."""
    if not items:
        return
    for env, rejected in items:
        log.warning("%s rejected: %s", env.where, rejected.reason)
    await publisher.publish_many([dead_letter_record(env, rej) for env, rej in items])
