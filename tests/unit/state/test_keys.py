"""The Redis key layout is pinned: these names are the data already stored, so a rename is a migration."""

from __future__ import annotations

import pickle

import pytest

from alerts.keys import AlertKeys
from streams.state.keys import MARKET_KEY, DocKey, StateKeys, deal_key, issuer_key, tranche_key


def test_the_stream_sides_names() -> None:
    k = StateKeys("tw:")
    assert [k.doc(tranche_key("T-1")), k.doc(issuer_key("I")), k.doc(deal_key("D")), k.doc(MARKET_KEY)] == [
        "tw:tranche:T-1",
        "tw:issuer:I",
        "tw:deal:D",
        "tw:market",
    ]
    assert (k.clock, k.watching, k.seen("bond.quotes")) == (
        "tw:clock",
        "tw:stale:watching",
        "tw:seen:bond.quotes",
    )
    assert k.prices("T-1") == "tw:prices:T-1"
    assert k.overdue == "tw:distribution_overdue:due"
    assert k.maturing == "tw:retire:maturing"
    assert (k.marker, k.rebuild_positions, k.rebuild_ends) == (
        "tw:state:marker",
        "tw:rebuild:positions",
        "tw:rebuild:ends",
    )


def test_the_alert_sides_names() -> None:
    a = AlertKeys("tw:")
    assert [a.outbox, a.outbox_cursor("slack"), a.outbox_failed("slack"), a.outbox_lease("slack")] == [
        "tw:outbox",
        "tw:outbox:cursor:slack",
        "tw:outbox:failed:slack",
        "tw:outbox:lease:slack",
    ]
    assert [a.active, a.latest, a.history("fp"), a.ack, a.acklog("fp"), a.silences] == [
        "tw:alerts:active",
        "tw:alerts:latest",
        "tw:alerts:history:fp",
        "tw:alerts:ack",
        "tw:alerts:acklog:fp",
        "tw:silences",
    ]
    assert [
        a.nflog("r"),
        a.digest("r"),
        a.digest_last("r"),
        a.slack_incidents("r"),
        a.alertmanager_firing("r"),
    ] == [
        "tw:nflog:r",
        "tw:digest:r",
        "tw:digest:r:last",
        "tw:slack:incidents:r",
        "tw:alertmanager:firing:r",
    ]


def test_scan_patterns_match_the_prefix_literally() -> None:
    assert StateKeys("tw[1]:").doc_pattern("tranche") == r"tw\[1\]:tranche:*"
    assert AlertKeys("a*b:").outbox_failed_pattern == r"a\*b:outbox:failed:*"


def test_a_document_key_knows_its_kind_and_id() -> None:
    key = StateKeys("tw:").doc_of("tw:tranche:WHBUS-2025-A")
    assert (key.kind, key.ident, key) == ("tranche", "WHBUS-2025-A", tranche_key("WHBUS-2025-A"))
    assert (MARKET_KEY.kind, MARKET_KEY.ident) == ("market", "")
    assert pickle.loads(pickle.dumps(key)).ident == "WHBUS-2025-A"
    with pytest.raises(ValueError, match="not a state document"):
        DocKey.parse("outbox:cursor:slack")


def test_the_entity_documents_name() -> None:
    from streams.state.keys import entity_key

    assert StateKeys("tw:").doc(entity_key("wuhan-bus")) == "tw:entity:wuhan-bus"
    assert DocKey.parse("entity:wuhan-bus").kind == "entity"
