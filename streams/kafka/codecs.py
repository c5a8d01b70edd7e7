"""The record-batch codecs Kafka defines, and whether the two clients here can write and read each.

faust consumes through aiokafka (whose aiokafka/codec.py uses cramjam for snappy, lz4 and zstd); `publish`
and the alerts producer write through kafka-python (kafka/codec.py: python-snappy, lz4, zstandard). Both
only import those libraries if they are there, and a batch in a codec whose library is missing fails when
it is read, not when the process starts: so the worker checks at start and says which is missing.
"""

from __future__ import annotations

from types import ModuleType
from typing import Final

KAFKA_CODECS: Final = ("gzip", "snappy", "lz4", "zstd")
_SAMPLE = b'{"event_id": "codec-check", "price": 99.5}' * 4


def _clients() -> dict[str, ModuleType]:
    import aiokafka.codec
    import kafka.codec

    return {"aiokafka": aiokafka.codec, "kafka-python": kafka.codec}


def missing_codecs() -> list[str]:
    """'<client> <codec>: <why>' for every codec a client here cannot round-trip; empty when all work."""
    missing = []
    for client, module in _clients().items():
        for codec in KAFKA_CODECS:
            try:
                encoded = getattr(module, f"{codec}_encode")(_SAMPLE)
                if getattr(module, f"{codec}_decode")(encoded) != _SAMPLE:
                    raise ValueError("decoded bytes differ from the encoded ones")
            except Exception as exc:
                missing.append(f"{client} {codec}: {exc!r}")
    return missing
