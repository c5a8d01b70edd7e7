"""Both clients here write and read every codec Kafka defines; a missing library is named, not hidden."""

from __future__ import annotations

import aiokafka.codec
import pytest

from streams.kafka.codecs import KAFKA_CODECS, missing_codecs


def test_every_codec_round_trips_on_both_clients() -> None:
    assert KAFKA_CODECS == ("gzip", "snappy", "lz4", "zstd")
    assert missing_codecs() == []


def test_a_missing_library_is_named_by_client_and_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiokafka.codec, "cramjam", None)  # as if installed without aiokafka's extras
    missing = missing_codecs()
    assert [m.split(":")[0] for m in missing] == ["aiokafka snappy", "aiokafka lz4", "aiokafka zstd"]
