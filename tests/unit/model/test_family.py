"""Family roots (contract v2): deep chains, cycles, re-parenting, self-parents, issuers without a record."""

from __future__ import annotations

import orjson
import pytest

from streams.ingest.parse import Rejected, parse
from streams.model.events import Entity
from streams.model.family import MAX_DEPTH, family_chain, family_root
from streams.model.topics import ENTITIES
from streams.state.keys import entity_key
from tests.unit.rules.scenario import entity, replay


def test_root_follows_the_owners_up_to_the_government() -> None:
    parents = {
        "wuhan-bus": "wuhan-gov",
        "hongshan-tower": "hongshan-district",
        "hongshan-district": "wuhan-gov",
        "wuhan-gov": "hubei-gov",
        "hubei-gov": None,
    }
    assert family_root("hongshan-tower", parents) == "hubei-gov"
    assert family_chain("hongshan-tower", parents) == [
        "hongshan-tower",
        "hongshan-district",
        "wuhan-gov",
        "hubei-gov",
    ]
    assert family_root("hubei-gov", parents) == "hubei-gov"


def test_a_parent_never_reported_is_the_root() -> None:
    parents = {"wuhan-bus": "wuhan-gov", "wuhan-metro": "wuhan-gov"}
    assert family_root("wuhan-bus", parents) == family_root("wuhan-metro", parents) == "wuhan-gov"


def test_an_issuer_without_a_record_is_its_own_root() -> None:
    assert family_root("lonely-issuer", {"wuhan-bus": "wuhan-gov"}) == "lonely-issuer"


def test_a_deep_chain_is_followed_to_the_top() -> None:
    depth = MAX_DEPTH - 1
    parents: dict[str, str | None] = {f"e{i}": f"e{i + 1}" for i in range(depth)}
    assert family_root("e0", parents) == f"e{depth}"


def test_a_chain_longer_than_the_bound_stops_at_the_bound() -> None:
    parents: dict[str, str | None] = {f"e{i}": f"e{i + 1}" for i in range(10 * MAX_DEPTH)}
    assert family_root("e0", parents) == f"e{MAX_DEPTH - 1}"


@pytest.mark.parametrize(
    ("start", "root"),
    [("a", "c"), ("b", "a"), ("c", "b"), ("x", "c")],
)
def test_a_cycle_stops_at_the_last_entity_before_the_repeat(start: str, root: str) -> None:
    parents = {"a": "b", "b": "c", "c": "a", "x": "a"}
    assert family_root(start, parents) == root


def test_an_entity_is_refused_as_its_own_parent() -> None:
    raw = orjson.dumps(
        {
            "event_id": "e-1",
            "entity_id": "a",
            "kind": "lgfv",
            "parent_id": "a",
            "updated_at": "2025-01-01T00:00:00Z",
        }
    )
    rejected = parse(ENTITIES, raw)
    assert isinstance(rejected, Rejected)
    assert rejected.kind == "invalid_fields"
    assert "is the entity itself" in rejected.reason


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"kind": "bank"}, "kind"),
        ({"updated_at": "2025-01-01T00:00:00"}, "updated_at"),
        ({"entity_id": ""}, "entity_id"),
    ],
)
def test_bad_entities_are_dead_lettered_with_a_reason(change: dict[str, str], words: str) -> None:
    value = {
        "event_id": "e-1",
        "entity_id": "wuhan-bus",
        "name": "Wuhan Public Transport Group",
        "kind": "lgfv",
        "parent_id": "wuhan-gov",
        "region": "Hubei/Wuhan",
        "updated_at": "2025-01-01T00:00:00+08:00",
    }
    rejected = parse(ENTITIES, orjson.dumps({**value, **change}))
    assert isinstance(rejected, Rejected)
    assert words in rejected.reason
    assert isinstance(parse(ENTITIES, orjson.dumps(value)), Entity)


def test_the_newest_record_wins_whatever_the_order_read() -> None:
    old = entity("e-1", "wuhan-bus", "wuhan-gov", "2025-01-01")
    new = entity("e-2", "wuhan-bus", "hubei-gov", "2025-06-01")
    for order in ([old, new], [new, old]):
        snap = replay(order)
        assert snap.entities["wuhan-bus"].parent_id == "hubei-gov"
        assert snap.entities["wuhan-bus"].event_id == "e-2"
    assert entity_key("wuhan-bus") in replay([old]).dirty


def test_re_parenting_moves_the_subtree_to_its_new_root() -> None:
    snap = replay(
        [
            entity("e-1", "tower", "hongshan", "2025-01-01"),
            entity("e-2", "hongshan", "wuhan-gov", "2025-01-01"),
            entity("e-3", "hongshan", "hubei-gov", "2025-03-01"),
        ]
    )
    parents = {i: e.parent_id for i, e in snap.entities.items()}
    assert family_root("tower", parents) == "hubei-gov"
