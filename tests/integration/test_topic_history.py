"""The input topics' history read back on the real broker: every record once, each partition in offset
order, and a read resumed from any positions continues the very sequence of an uninterrupted one."""

from __future__ import annotations

import pytest

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.history import TopicHistory
from streams.kafka.topics import DEALS, INPUT_TOPICS, QUOTES, ensure_topics
from streams.settings import Settings
from tests.support.kafka_io import produce

pytestmark = pytest.mark.integration


def test_history_is_complete_ordered_and_resumable(broker: EmbeddedBroker) -> None:
    ensure_topics(Settings(kafka_bootstrap=broker.bootstrap))
    produce(
        broker.bootstrap, DEALS, [{"event_id": f"d{i}", "deal_id": f"D{i}"} for i in range(30)], "deal_id"
    )
    quotes = [{"event_id": f"q{i}", "tranche_id": f"T{i % 37}"} for i in range(1500)]
    produce(broker.bootstrap, QUOTES, quotes, key_field="tranche_id")
    produce(
        broker.bootstrap, DEALS, [{"event_id": f"e{i}", "deal_id": f"E{i}"} for i in range(30)], "deal_id"
    )
    options = {"bootstrap_servers": [broker.bootstrap]}

    history = TopicHistory(options, list(INPUT_TOPICS))
    try:
        starts, ends = history.bounds()
        full = [(e.topic, e.partition, e.offset) for e in history.read(dict(starts), ends)]
    finally:
        history.close()
    assert len(full) == len(set(full)) == 1560 == sum(ends.values())
    for position in ends:
        offsets = [o for t, p, o in full if (t, p) == position]
        assert offsets == sorted(offsets) == list(range(ends[position]))
    assert [t for t, _, _ in full[:30]] == [DEALS] * 30 and [t for t, _, _ in full[-30:]] == [DEALS] * 30

    # Stopped after 700 records: the positions then, read again, give the rest of the same sequence.
    positions = dict(starts)
    for topic, partition, offset in full[:700]:
        positions[(topic, partition)] = offset + 1
    history = TopicHistory(options, list(INPUT_TOPICS))
    try:
        rest = [(e.topic, e.partition, e.offset) for e in history.read(positions, ends)]
    finally:
        history.close()
    assert rest == full[700:]
