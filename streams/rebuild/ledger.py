"""What the notice ledgers (the Kafka receivers' topics, `abs.alerts` by default) show as already sent.

Every record a Kafka receiver publishes carries `tw-notice-key` = `fingerprint:seq` (alerts/notify/kafka.py).
The highest seq of each fingerprint found there is written into every receiver's notification log before
the replay, so the sender skips each replayed notice up to it, for Slack and any other receiver as for
the topic itself. What the ledger does not show (a transition the lost state had not yet published, or
one from events that arrived after the loss) goes out once, when the workers start.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis

from alerts.core.model import Alert
from alerts.delivery.nflog import NotificationLog
from alerts.notify.kafka import NOTICE_KEY_HEADER, Publisher
from alerts.routing.routes import KafkaReceiver, RoutingConfig

EVERYTHING = 10**15  # records per partition: the whole retained topic


def ledger_topics(routing: RoutingConfig) -> list[str]:
    return sorted({cfg.topic for cfg in routing.receivers.values() if isinstance(cfg, KafkaReceiver)})


def highest_seqs(headers: Iterable[list[tuple[str, bytes]]]) -> dict[str, int]:
    seqs: dict[str, int] = {}
    for record in headers:
        for name, value in record:
            if name != NOTICE_KEY_HEADER:
                continue
            fingerprint, _, seq = value.decode(errors="replace").rpartition(":")
            if fingerprint and seq.isdigit():
                seqs[fingerprint] = max(seqs.get(fingerprint, 0), int(seq))
    return seqs


async def sent_on_ledgers(publisher: Publisher, topics: Iterable[str]) -> dict[str, int]:
    seqs: dict[str, int] = {}
    for topic in topics:
        for fingerprint, seq in highest_seqs(await publisher.tail_headers(topic, EVERYTHING)).items():
            seqs[fingerprint] = max(seqs.get(fingerprint, 0), seq)
    return seqs


async def mark_sent(nflog: NotificationLog, receivers: Iterable[str], seqs: dict[str, int]) -> None:
    for receiver in receivers:
        await nflog.record_seqs(receiver, seqs)


async def count_unsent(redis: Redis, outbox: str, seqs: dict[str, int]) -> tuple[int, int]:
    """(notices in the outbox, of which the ledgers do not show): what the senders will send."""
    notices = unsent = 0
    cursor = "-"
    while True:
        rows: list[Any] = await redis.xrange(outbox, min=cursor, count=1000)  # type: ignore[assignment]
        for _entry_id, fields in rows:
            alert = Alert.model_validate_json(fields[b"n"])
            notices += 1
            unsent += alert.seq > seqs.get(alert.fingerprint, 0)
        if len(rows) < 1000:
            return notices, unsent
        last = rows[-1][0]
        cursor = "(" + (last.decode() if isinstance(last, bytes) else str(last))
