"""What a failed fetch took, where it failed, and how to give it back: aiokafka 0.14's fetcher internals.

aiokafka's `Fetcher.fetched_records` drains the results of several partitions in one call, waiting for
more to arrive if none is there yet. If one batch cannot be decoded (no library for its codec, a bad CRC, a
corrupt record), the exception leaves the call and everything drained before it, of that partition and of
the partitions before it, is dropped with it: their positions have already moved past records nobody
received. So before the call we note every assigned partition's position, the offset of its first record
not yet handed over (`positions`); after a failure we seek them all back there (`rewind`),
and find the partition that failed and at which offset (`locate_failure`): the one whose waiting result's
record iterator died, or whose broker error (aiokafka's `FetchError`, which drops nothing) was raised.

Reads private attributes (`_subscription`, `_fetcher._records`, `FetchResult._partition_records`,
`PartitionRecords.next_fetch_offset` and `_records_iterator`); tests/unit/worker/test_faust_fingerprint.py
fingerprints the aiokafka code they come from and tests/integration/test_fetch_failure.py exercises them on
the real broker, so an aiokafka upgrade that moves them fails there.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka.consumer.fetcher import FetchError, FetchResult
from aiokafka.structs import TopicPartition

from streams.worker.fetch_errors import UNKNOWN, FetchFailure, error_kind

log = logging.getLogger(__name__)


def positions(consumer: Any) -> dict[Any, int]:
    """Assigned partition -> its position (the first record not yet handed over), where it has one."""
    assignment = (
        consumer._subscription.subscription.assignment if consumer._subscription.subscription else None
    )
    if assignment is None:
        return {}
    found = {}
    for tp in assignment.tps:
        state = assignment.state_value(tp)
        if state is not None and state.has_valid_position:
            found[tp] = state.position
    return found


def broker_errors(consumer: Any) -> set[Any]:
    """Partitions whose waiting fetch result is an error the broker reported."""
    return {tp for tp, result in consumer._fetcher._records.items() if isinstance(result, FetchError)}


def locate_failure(
    consumer: Any, before: dict[Any, int], errors_before: set[Any], exc: BaseException
) -> FetchFailure:
    """The partition whose result raised `exc`, and the offset of the first record it could not hand over."""
    records_now = consumer._fetcher._records
    for tp, result in records_now.items():
        if isinstance(result, FetchResult) and result._partition_records is not None:
            iterator = result._partition_records._records_iterator
            if iterator is not None and getattr(iterator, "gi_frame", True) is None:  # the generator raised
                return _failure(tp, result._partition_records.next_fetch_offset, exc)
    for tp in errors_before:
        if tp not in records_now:  # its broker error was raised, and removed, by this call
            return _failure(tp, before.get(tp), exc)
    named = exc.args[0] if exc.args else None
    if isinstance(named, TopicPartition):
        return _failure(named, before.get(named), exc)
    return FetchFailure(UNKNOWN, -1, None, error_kind(exc), _text(exc))


def rewind(consumer: Any, before: dict[Any, int]) -> None:
    """Seeks every partition back to where it stood before the failed call. All of them, not only those
    whose position moved: the failed partition's position has not moved, but its waiting result has a dead
    iterator that would move it past the records drained before the failure. A seek drops waiting results,
    which are fetched again: a cost paid on failures only."""
    for tp, offset in before.items():
        try:
            consumer.seek(tp, offset)
        except Exception as exc:  # revoked meanwhile: its next owner starts from the committed offset
            log.info("not rewinding %s[%s] to %s: %s", tp.topic, tp.partition, offset, exc)


def _failure(tp: Any, offset: int | None, exc: BaseException) -> FetchFailure:
    return FetchFailure(tp.topic, tp.partition, offset, error_kind(exc), _text(exc))


def _text(exc: BaseException) -> str:
    text, name = str(exc), type(exc).__name__
    return (text if text.startswith(name) else f"{name}: {text}")[:300]
