"""The fetch-failure ledger: bounded kinds, doubling backoff per partition, cleared once read past the
failed offset or revoked, and the readiness reason naming topic[partition]@offset."""

from __future__ import annotations

import logging

import pytest
from aiokafka import errors

from streams.worker.fetch_errors import UNKNOWN, FetchFailure, FetchHealth, Partition, error_kind


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lz4(partition: int = 2, offset: int | None = 17) -> FetchFailure:
    return FetchFailure("bond.quotes", partition, offset, "unsupported_codec", "no lz4")


def test_kinds_are_bounded() -> None:
    assert error_kind(errors.UnsupportedCodecError("lz4")) == "unsupported_codec"
    assert error_kind(errors.CorruptRecordException("crc")) == "corrupt_record"
    assert error_kind(errors.RecordTooLargeError()) == "record_too_large"
    assert error_kind(errors.TopicAuthorizationFailedError("bond.quotes")) == "authorization"
    assert error_kind(ValueError("anything else")) == "other"


def test_backoff_doubles_per_attempt_up_to_the_cap_and_holds_only_that_partition(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counted: list[tuple[str, str]] = []
    clock = Clock()
    health = FetchHealth(lambda t, k: counted.append((t, k)), retry_max_seconds=3.0, clock=clock)
    with caplog.at_level(logging.WARNING):
        assert [health.failed(lz4()) for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert counted == [("bond.quotes", "unsupported_codec")] * 5
    assert "cannot read bond.quotes[2]@17 (unsupported_codec, attempt 1): no lz4" in caplog.text
    assert health.held() == {Partition("bond.quotes", 2)}
    assert health.next_retry_in() == pytest.approx(3.0)
    clock.now += 3.0
    assert health.held() == set()  # may be tried again, still failing until read
    assert health.reason() == "cannot read bond.quotes[2]@17: unsupported_codec: no lz4 (attempt 5, retrying)"


def test_cleared_once_read_past_the_failed_offset() -> None:
    health = FetchHealth()
    health.failed(lz4(2, 17))
    health.failed(lz4(3, None))
    health.read({Partition("bond.quotes", 2): 17})  # not yet past it
    assert health.failing
    health.read({Partition("bond.quotes", 2): 18, Partition("bond.quotes", 3): 5})
    assert not health.failing and health.reason() is None
    health.failed(lz4())
    assert health.held() == {Partition("bond.quotes", 2)}  # a new failure starts from the first backoff


def test_revoked_partitions_are_forgotten_and_unknown_ones_clear_on_any_read() -> None:
    health = FetchHealth()
    health.failed(lz4(1))
    health.failed(FetchFailure(UNKNOWN, -1, None, "other", "boom"))
    assert "unknown[-1]@?" in (health.reason() or "")
    health.forget([("bond.quotes", 1)])
    health.read({Partition("abs.deals", 0): 3})
    assert health.reason() is None
