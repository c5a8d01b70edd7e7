"""A dead letter always fits the producer's 1 MiB request limit: before, a message over it was retried
forever and stalled its partition (found by tests/reliability/test_hostile_broker.py)."""

from __future__ import annotations

import hashlib

from streams.ingest.deadletter import (
    TRUNCATED_HEAD_BYTES,
    Envelope,
    KeptDeadLetters,
    dead_letter_record,
    ledger_key_of,
    send_dead_letters,
)
from streams.ingest.parse import MAX_MESSAGE_BYTES, Rejected, parse


def test_an_oversized_message_goes_with_its_head_size_and_digest() -> None:
    raw = b'{"event_id": "' + b"x" * (MAX_MESSAGE_BYTES + 100) + b'"}'
    rejected = parse("bond.quotes", raw)
    assert isinstance(rejected, Rejected) and rejected.kind == "too_large"
    env = Envelope("bond.quotes", 2, 41, b"k" * (TRUNCATED_HEAD_BYTES + 1), raw, 0.0)
    topic, key, value, headers = dead_letter_record(env, rejected)
    found = dict(headers)
    assert topic == "tranchewatch.deadletter" and value == raw[:TRUNCATED_HEAD_BYTES]
    assert key is not None and len(key) == TRUNCATED_HEAD_BYTES
    assert found["tw-truncated-from-bytes"] == str(len(raw)).encode()
    assert found["tw-original-sha256"] == hashlib.sha256(raw).hexdigest().encode()
    assert found["tw-source-offset"] == b"41" and b"exceeds" in found["tw-reason"]


def test_a_message_within_the_limit_goes_whole() -> None:
    raw = b"{not json"
    rejected = parse("bond.quotes", raw)
    assert isinstance(rejected, Rejected)
    _, _, value, headers = dead_letter_record(Envelope("bond.quotes", 0, 1, None, raw, 0.0), rejected)
    assert value == raw and "tw-truncated-from-bytes" not in dict(headers)


async def test_only_dead_letters_in_doubt_are_checked_against_the_topic() -> None:
    kept = KeptDeadLetters()
    first = Envelope("bond.quotes", 2, 41, None, b"{bad", 0.0)
    second = Envelope("bond.quotes", 2, 42, None, b"[]", 0.0)
    items = [(e, parse("bond.quotes", e.value)) for e in (first, second)]
    rejected = [(e, r) for e, r in items if isinstance(r, Rejected)]
    await send_dead_letters(kept, rejected[:1])
    assert ledger_key_of(kept.records[0][3]) == b"bond.quotes:2:41" == first.ledger_key
    # Both redelivered: the first is on the topic already, the second is not.
    await send_dead_letters(kept, rejected, in_doubt={first.ledger_key, second.ledger_key})
    assert [r[2] for r in kept.records] == [b"{bad", b"[]"]
    # Not in doubt, a dead letter goes whatever the topic holds (its offset is past the progress).
    await send_dead_letters(kept, rejected[:1])
    assert len(kept.records) == 3
    assert ledger_key_of([("tw-reason", b"x")]) is None
