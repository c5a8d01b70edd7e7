"""The faust internals tranchewatch mirrors are still the ones its copies were diffed against.

streams/worker/faust_tuning/ (and `ack_all` in streams/worker/agents.py) copy or lean on private code of
faust-streaming, mode and aiokafka, pinned exactly in pyproject.toml. Each upstream function is fingerprinted
here (sha256 of its `inspect.getsource`, or of the shipped .pyx for the compiled conductor handler). When a
new faust changes one, this fails and names the file to diff again; after re-diffing (and adapting the
copy), refresh the fingerprints by running this module: `.venv/bin/python -m tests.unit.worker.test_faust_fingerprint`.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TUNING = "streams/worker/faust_tuning"

# upstream object (module:qualname, or module:file for a shipped source file) -> (our file, fingerprint)
MIRRORED: dict[str, tuple[str, str]] = {
    # consumer.py: the drain loop, the buffer-pressure callbacks, the fetch long-poll, the transport hooks.
    "faust.transport.consumer:Consumer._drain_messages": (f"{TUNING}/consumer.py", "44a2500309e83c63"),
    "faust.transport.consumer:Consumer.on_buffer_full": (f"{TUNING}/consumer.py", "c8961679e0bcdce5"),
    "faust.transport.consumer:Consumer.on_buffer_drop": (f"{TUNING}/consumer.py", "4b57e8a418d5ad9c"),
    "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread._create_worker_consumer": (
        f"{TUNING}/consumer.py",
        "c2701bfc3e6f6cad",
    ),
    "faust.transport.drivers.aiokafka:Consumer._new_consumer_thread": (
        f"{TUNING}/consumer.py",
        "0870ec53dea75083",
    ),
    "aiokafka.consumer.consumer:AIOKafkaConsumer.start": (f"{TUNING}/consumer.py", "2f1ba70443327538"),
    "faust.transport.base:Transport.create_conductor": (f"{TUNING}/consumer.py", "eeedfbe95f17eff1"),
    # consumer.py's fetch-error recovery: the fetch it wraps, the revocation it hooks, aiokafka's isolation level.
    "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread._fetch_records": (
        f"{TUNING}/consumer.py",
        "39a2c6c79fc1455a",
    ),
    "faust.transport.drivers.aiokafka:AIOKafkaConsumerThread.on_partitions_revoked": (
        f"{TUNING}/consumer.py",
        "c44013f1259ca964",
    ),
    "aiokafka.consumer.consumer:AIOKafkaConsumer.__init__": (f"{TUNING}/consumer.py", "01506f316191f7c9"),
    # fetch_recovery.py: aiokafka's fetcher internals it reads and rewinds (also exercised on the real broker
    # by tests/integration/test_fetch_failure.py).
    "aiokafka.consumer.fetcher:Fetcher.fetched_records": (f"{TUNING}/fetch_recovery.py", "be4348896b9b66af"),
    "aiokafka.consumer.fetcher:FetchResult.__init__": (f"{TUNING}/fetch_recovery.py", "126a3e45763bd404"),
    "aiokafka.consumer.fetcher:PartitionRecords.__init__": (
        f"{TUNING}/fetch_recovery.py",
        "8ec1c2ae6ea1af87",
    ),
    # conductor.py: the dispatcher, the per-partition handler (compiled and pure-Python) and what it awaits.
    "faust.transport.conductor:Conductor._compile_message_handler": (
        f"{TUNING}/conductor.py",
        "9fbc0538097aa4ec",
    ),
    "faust.transport.conductor:Conductor._build_handler": (f"{TUNING}/conductor.py", "5c071d1277988c57"),
    "faust.transport.conductor:Conductor._update_indices": (f"{TUNING}/conductor.py", "619b3247b96ac7d5"),
    "faust.transport.conductor:ConductorCompiler.build": (f"{TUNING}/conductor.py", "837cf521368c1ee4"),
    "faust.transport._cython:conductor.pyx": (f"{TUNING}/conductor.py", "dde1f974267881cf"),
    "faust.transport.producer:ProducerBuffer.wait_until_ebb": (f"{TUNING}/conductor.py", "758dd5744044071b"),
    "faust.transport.producer:ProducerBuffer.size": (f"{TUNING}/conductor.py", "b543a978fdece62e"),
    "mode.utils.queues:FlowControlEvent.acquire": (f"{TUNING}/conductor.py", "ed0208e866e64d0b"),
    "faust.types.tuples:Message.incref": (f"{TUNING}/conductor.py", "78d34df830d3089b"),
    # sensors.py: the Monitor callbacks it replaces.
    "faust.sensors.monitor:Monitor.on_message_in": (f"{TUNING}/sensors.py", "b2a9a9045b2f456c"),
    "faust.sensors.monitor:Monitor.on_stream_event_in": (f"{TUNING}/sensors.py", "df6d2e5f6397ce44"),
    "faust.sensors.monitor:Monitor.on_stream_event_out": (f"{TUNING}/sensors.py", "2d2277a6dbda754c"),
    "faust.sensors.monitor:Monitor.on_message_out": (f"{TUNING}/sensors.py", "7c4054247cde96c3"),
    # agents.py: ack_all is Stream.ack without its coroutine.
    "faust.streams:Stream.ack": ("streams/worker/agents.py", "32d7171a89b0931d"),
}


def _source(target: str) -> str:
    module_name, _, name = target.partition(":")
    module = importlib.import_module(module_name)
    if name.endswith((".pyx", ".py")):
        return (Path(inspect.getfile(module)).parent / name).read_text(encoding="utf-8")
    obj: Any = module
    for part in name.split("."):
        obj = inspect.getattr_static(obj, part)
    if isinstance(obj, property):
        obj = obj.fget
    function: Callable[..., Any] = getattr(obj, "__func__", obj)
    return inspect.getsource(function)


def fingerprint(target: str) -> str:
    return hashlib.sha256(_source(target).encode()).hexdigest()[:16]


@pytest.mark.parametrize("target", sorted(MIRRORED))
def test_upstream_unchanged(target: str) -> None:
    ours, expected = MIRRORED[target]
    assert fingerprint(target) == expected, f"faust changed: re-diff {ours} ({target} differs)"


def test_private_attributes_read_elsewhere_still_exist() -> None:
    """streams/worker/gauges.py reads the consumer's committed offsets (faust has no public accessor)."""
    from faust.transport.consumer import Consumer

    assert "self._committed_offset" in inspect.getsource(Consumer), (
        "faust changed: re-diff streams/worker/gauges.py (Consumer._committed_offset is gone)"
    )


if __name__ == "__main__":
    for name in sorted(MIRRORED):
        print(f"{name}: {fingerprint(name)}")
