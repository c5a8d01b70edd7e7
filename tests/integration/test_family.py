"""Credit families on the real broker and Redis: entity records kept (newest wins), bad ones dead-lettered."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import DEADLETTER, ENTITIES
from streams.state.keys import StateKeys, entity_key
from tests.support.kafka_io import produce, read_all
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = pytest.mark.integration


def entity(event_id: str, entity_id: str, parent: str | None, kind: str, at: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "entity_id": entity_id,
        "name": entity_id.replace("-", " ").title(),
        "kind": kind,
        "parent_id": parent,
        "region": "Hubei",
        "updated_at": at,
    }


def test_entities_are_kept_and_bad_ones_dead_lettered(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    worker_factory().wait_ready()
    produce(
        broker.bootstrap,
        ENTITIES,
        [
            entity("e-2", "wuhan-bus", "hubei-gov", "lgfv", "2025-06-01T00:00:00+08:00"),
            entity("e-1", "wuhan-bus", "wuhan-gov", "lgfv", "2025-01-01T00:00:00+08:00"),  # older, read late
            entity("e-3", "self-owned", "self-owned", "soe", "2025-01-01T00:00:00+08:00"),
            entity("e-4", "a-bank", None, "bank", "2025-01-01T00:00:00+08:00"),
        ],
        key_field="entity_id",
    )
    keys = StateKeys(redis_prefix)
    stored = wait_for(
        lambda: redis_client.hget(keys.doc(entity_key("wuhan-bus")), "d"), what="the entity document"
    )
    dead = wait_for(
        lambda: len(r := read_all(broker.bootstrap, DEADLETTER)) == 2 and r, what="2 dead letters"
    )
    reasons = b" | ".join(dict(record.headers)["tw-reason"] for record in dead)
    assert b"is the entity itself" in reasons and b"kind" in reasons
    # Both valid records are applied (one batch or two); the older one read last changes nothing.
    wait_for(lambda: redis_client.scard(keys.seen(ENTITIES)) == 2, what="both valid records applied")
    raw = redis_client.hget(keys.doc(entity_key("wuhan-bus")), "d") or stored
    assert isinstance(raw, bytes)
    doc = json.loads(raw)
    assert doc["parent_id"] == "hubei-gov" and doc["event_id"] == "e-2" and doc["kind"] == "lgfv"
