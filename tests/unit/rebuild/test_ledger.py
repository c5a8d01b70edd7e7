"""What the ledger shows as sent, read from the notice-key headers."""

from __future__ import annotations

import asyncio

from alerts.routing.routes import RoutingConfig
from streams.rebuild.cli import summary
from streams.rebuild.ledger import highest_seqs, ledger_topics, sent_on_ledgers
from streams.rebuild.run import RebuildReport


def test_highest_seq_per_fingerprint_ignoring_other_headers_and_garbage() -> None:
    headers = [
        [("tw-notice-key", b"fp1:1")],
        [("tw-notice-key", b"fp1:3"), ("other", b"fp9:9")],
        [("tw-notice-key", b"fp1:2")],
        [("tw-notice-key", b"fp2:1")],
        [("tw-notice-key", b"no-seq")],
        [],
    ]
    assert highest_seqs(headers) == {"fp1": 3, "fp2": 1}


class Ledger:
    def __init__(self, topics: dict[str, list[list[tuple[str, bytes]]]]) -> None:
        self.topics = topics
        self.asked: list[tuple[str, int]] = []

    async def publish_many(self, records: object) -> None:
        raise AssertionError("a rebuild never publishes")

    async def tail_headers(self, topic: str, per_partition: int) -> list[list[tuple[str, bytes]]]:
        self.asked.append((topic, per_partition))
        return self.topics.get(topic, [])


def test_every_kafka_receiver_topic_is_read_whole() -> None:
    routing = RoutingConfig.model_validate(
        {
            "receivers": {
                "bus": {"type": "kafka"},
                "copy": {"type": "kafka", "topic": "abs.alerts.copy"},
                "desk": {"type": "log"},
            },
            "routes": [{"receiver": "bus"}],
            "inhibit": [],
        }
    )
    topics = ledger_topics(routing)
    assert topics == ["abs.alerts", "abs.alerts.copy"]
    ledger = Ledger(
        {"abs.alerts": [[("tw-notice-key", b"a:2")]], "abs.alerts.copy": [[("tw-notice-key", b"a:4")]]}
    )
    assert asyncio.run(sent_on_ledgers(ledger, topics)) == {"a": 4}
    assert all(per_partition >= 10**12 for _, per_partition in ledger.asked)


def test_summary_says_what_was_held_and_what_will_be_sent() -> None:
    report = RebuildReport(resumed=True, events=10, total=10, notices=5, to_send=2, dead_letters=1)
    report.retention_gaps.append("bond.quotes[0] from offset 7")
    text = summary(report)
    assert "10 events replayed (resumed)" in text and "3 shown as sent on the ledger" in text
    assert "2 not on it" in text and "bond.quotes[0] from offset 7" in text and "start the workers" in text
