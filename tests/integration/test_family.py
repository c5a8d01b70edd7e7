"""Credit families on the real broker and Redis: entity records kept (newest wins), bad ones dead-lettered."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import ALERTS, DEADLETTER, DEALS, ENTITIES, QUOTES
from streams.state.keys import FAMILIES_KEY, StateKeys, entity_key
from tests.support.kafka_io import produce, read_all, read_json
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
    worker = worker_factory()
    worker.wait_ready()
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
    wait_for(
        lambda: worker.metric("tranchewatch_events_total", topic=ENTITIES, outcome="processed") == 2,
        what="both valid records applied",
    )
    raw = redis_client.hget(keys.doc(entity_key("wuhan-bus")), "d") or stored
    assert isinstance(raw, bytes)
    doc = json.loads(raw)
    assert doc["parent_id"] == "hubei-gov" and doc["event_id"] == "e-2" and doc["kind"] == "lgfv"


def deal(name: str) -> dict[str, Any]:
    return {
        "event_id": f"d-{name}",
        "deal_id": f"D-{name}",
        "issuer_id": name,
        "issuer_name": name,
        "province": "Hubei",
        "announced_at": "2025-01-10T10:00:00+08:00",
        "asset_type": "transport_revenue",
        "tranches": [
            {
                "tranche_id": f"T-{name}",
                "face_value": 500e6,
                "coupon_pct": 2.6,
                "issue_date": "2025-01-15",
                "maturity_date": "2035-01-15",
            }
        ],
    }


def quote(name: str, n: int, price: float) -> dict[str, Any]:
    return {
        "event_id": f"q-{name}-{n}",
        "tranche_id": f"T-{name}",
        "ts": f"2025-09-0{n}T09:30:00+08:00",
        "price": price,
    }


def family_alerts(bootstrap: str) -> list[dict[str, Any]]:
    return [a for a in read_json(bootstrap, ALERTS) if a["rule"] == "family_stress"]


def test_family_stress_on_the_hubei_family(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    worker = worker_factory()
    worker.wait_ready()
    at = "2025-01-01T00:00:00+08:00"
    produce(
        broker.bootstrap,
        ENTITIES,
        [
            entity("e-1", "hubei-gov", None, "government", at),
            entity("e-2", "wuhan-gov", "hubei-gov", "government", at),
            entity("e-3", "wuhan-bus", "wuhan-gov", "lgfv", at),
            entity("e-4", "hongshan-district", "wuhan-gov", "government", at),
            entity("e-5", "hongshan-tower", "hongshan-district", "lgfv", at),
            entity("e-6", "wuhan-metro", "wuhan-gov", "lgfv", at),
        ],
        key_field="entity_id",
    )
    names = ["wuhan-bus", "hongshan-tower", "wuhan-metro"]
    produce(broker.bootstrap, DEALS, [deal(n) for n in names], key_field="deal_id")
    produce(broker.bootstrap, QUOTES, [quote(n, 1, 90.0) for n in names[:2]], key_field="tranche_id")
    warned = wait_for(lambda: family_alerts(broker.bootstrap), what="family_stress warning")
    assert warned[0]["severity"] == "warning" and warned[0]["subject"]["entity_id"] == "hubei-gov"
    produce(broker.bootstrap, QUOTES, [quote("wuhan-metro", 1, 90.0)], key_field="tranche_id")
    escalated = wait_for(
        lambda: len(r := family_alerts(broker.bootstrap)) >= 2 and r, what="family_stress critical"
    )[-1]
    assert escalated["severity"] == "critical" and escalated["fingerprint"] == warned[0]["fingerprint"]
    assert escalated["evidence"]["issuers"] == 3
    assert escalated["evidence"]["stressed"]["hongshan-tower"]["chain"] == [
        "hongshan-tower",
        "hongshan-district",
        "wuhan-gov",
        "hubei-gov",
    ]
    produce(broker.bootstrap, QUOTES, [quote(n, 2, 100.0) for n in names[:2]], key_field="tranche_id")
    resolved = wait_for(
        lambda: (r := family_alerts(broker.bootstrap)) and r[-1]["status"] == "resolved" and r,
        what="family_stress resolved",
    )
    assert [a["severity"] for a in resolved] == ["warning", "critical", "critical"]
    families = json.loads(redis_client.hget(StateKeys(redis_prefix).doc(FAMILIES_KEY), "d") or b"{}")
    assert set(families["stressed"]) == {"wuhan-metro"}
    # The same state summed by family over the API: the three issuers' tranches in the Hubei family.
    status, body = worker.http("/api/v1/exposures?group_by=family")
    assert status == 200, body
    rows = {r["key"]: r for r in json.loads(body)["rows"]}
    hubei = rows["hubei-gov"]
    assert (hubei["issuers"], hubei["tranches"], hubei["face_value"]) == (3, 3, 1.5e9)
    assert hubei["mark_to_market_loss"] == pytest.approx(500e6 * 0.10)  # wuhan-metro still at 90
    assert hubei["firing"]["critical"] == 1
    assert worker.http("/api/v1/exposures?group_by=colour")[0] == 400
