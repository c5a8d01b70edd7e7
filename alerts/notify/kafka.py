"""The `abs.alerts` topic, keyed by fingerprint, through whatever publisher the runtime hands in.

A batch of notices is published at once and awaited together (one by one, each waiting ~7 ms for its
acknowledgement, capped the topic near 135 notices a second). The nflog is written after the batch, so a
worker killed in between has published notices it never logged. The topic is its own ledger: each record
carries its notice key (fingerprint:seq) in the `tw-notice-key` header, and whenever the sink cannot know
what went out before it (at start, on taking over a receiver's lease, after a publish that failed or timed
out part-way) it reads back the newest records of each partition and publishes only the notices not there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from alerts.core.model import Alert
from alerts.exceptions import Retryable

log = logging.getLogger(__name__)
NOTICE_KEY_HEADER = "tw-notice-key"
Record = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]


class Publisher(Protocol):
    async def publish_many(self, records: list[Record]) -> None: ...

    async def tail_headers(self, topic: str, per_partition: int) -> list[list[tuple[str, bytes]]]: ...


def notice_key(alert: Alert) -> bytes:
    """What the nflog keys a notice on: a fingerprint's transitions are numbered by seq."""
    return f"{alert.fingerprint}:{alert.seq}".encode()


def not_yet_published(alerts: Sequence[Alert], on_topic: set[bytes]) -> list[Alert]:
    """The notices to publish, in order. A notice found on the topic is skipped only while every earlier
    notice of its fingerprint in this batch was found too: past a gap it is published again (a repeat, in
    order) rather than leaving a consumer with a later transition and never the one before it."""
    gaps: set[str] = set()
    fresh: list[Alert] = []
    for alert in alerts:
        if alert.fingerprint not in gaps and notice_key(alert) in on_topic:
            continue
        gaps.add(alert.fingerprint)
        fresh.append(alert)
    return fresh


class KafkaSink:
    name = "kafka"
    min_interval_seconds = 0.0

    def __init__(self, publisher: Publisher, topic: str = "abs.alerts", max_batch: int = 500) -> None:
        self._publisher = publisher
        self._topic = topic
        self.max_batch = max_batch
        # Twice the largest batch: the predecessor's unlogged batch, plus one from a sender whose lease
        # lapsed mid-batch. Each lands on a partition at most whole, so this many per partition covers both.
        self.read_back = 2 * max_batch
        self._in_doubt = True  # a predecessor may have published a batch and died before logging it

    def resync(self) -> None:
        """Someone else may have published since this sink last did: check the topic before the next send."""
        self._in_doubt = True

    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        if len(alerts) > self.max_batch:
            raise ValueError(f"{len(alerts)} notices exceed the batch limit {self.max_batch}")
        try:
            fresh = await self._unpublished(alerts) if self._in_doubt else list(alerts)
            self._in_doubt = False
            # One record per notice, keyed by fingerprint (the wire contract); the header is additive.
            await self._publisher.publish_many(
                [
                    (
                        self._topic,
                        a.fingerprint.encode(),
                        a.model_dump_json().encode(),
                        [(NOTICE_KEY_HEADER, notice_key(a))],
                    )
                    for a in fresh
                ]
            )
        except Exception as exc:  # the broker's client raises many types; all are worth a retry
            self._in_doubt = True  # part of the batch may have landed
            raise Retryable(f"publish of {len(alerts)} notices to {self._topic} failed: {exc!r}") from None

    async def _unpublished(self, alerts: Sequence[Alert]) -> list[Alert]:
        tails = await self._publisher.tail_headers(self._topic, self.read_back)
        on_topic = {value for headers in tails for name, value in headers if name == NOTICE_KEY_HEADER}
        fresh = not_yet_published(alerts, on_topic)
        if len(fresh) < len(alerts):
            log.info(
                "%s: %d of %d notices already published before a restart or failure; not sent again",
                self._topic,
                len(alerts) - len(fresh),
                len(alerts),
            )
        return fresh

    async def close(self) -> None:
        return None
