"""Hostile input, generated: parse never raises, and what parse accepts never makes apply raise.

Each example goes through the worker's own BatchHandler on the in-memory store, so an exception in apply,
in the rules, in QuantLib or in the documents' serialisation shows up as a `processing_error` dead letter;
the test fails on any. Sequences mix the topics to reach the cross-event cases: a tranche announced by two
deals, a quote before its deal, the same event_id with different content.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.engine.pipeline import BatchHandler
from streams.ingest.deadletter import Envelope
from streams.ingest.parse import MAX_MESSAGE_BYTES, Rejected, parse
from streams.kafka.topics import (
    DEALS,
    DISTRIBUTIONS,
    ENTITIES,
    FINANCIALS,
    INPUT_TOPICS,
    QUOTES,
    RATINGS,
    SERVICER_REPORTS,
)
from streams.metrics import Metrics
from streams.rules.registry import RulesConfig
from streams.state.memory_store import MemoryStore
from tests.reliability.scenario import size_from_env

HOSTILE_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0, -1, 1e308, -1e308, 5e-324, 2**63]),
    st.text(max_size=30), st.sampled_from(["", " ", "NaN", "Infinity", "-0", "1e999", "\u0000", "\ud7ff" * 3]),
    st.sampled_from(["0000-01-01", "0001-01-01", "9999-12-31", "9999-12-31T23:59:59-12:00",
                     "0001-01-01T00:00:00+14:00", "2025-02-30", "2025-09-01T09:30:00", "2025-09-01T25:00:00+08:00",
                     "9999-12-31T23:59:59.999999+00:00", "1900-01-01T00:00:00+08:00"]),
)  # fmt: skip
JSON = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
DATES = st.sampled_from(["2025-01-15", "2035-01-15", "0001-01-01", "9999-12-31", "2024-02-29", "1901-01-01",
                         "2199-12-31", "2200-01-01"])  # fmt: skip
TIMES = st.sampled_from(["2025-09-01T09:30:00+08:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
                         "2025-12-31T23:59:59-05:00", "1901-01-01T00:00:00+00:00", "2199-12-31T20:00:00+00:00"])  # fmt: skip
IDS = st.sampled_from(["A", "B", "T-1", "x" * 200, "é", "\u0000"])
PRICES = st.one_of(
    st.floats(min_value=1e-9, max_value=999.999), st.sampled_from([0.0001, 50.0, 94.5, 100.0, 999.99])
)
MONEY = st.one_of(
    st.floats(min_value=-1e300, max_value=1e300), st.sampled_from([0.0, -0.0, 1e-300, -821e6, 6e8])
)


@st.composite
def tranche(draw: st.DrawFn) -> dict[str, Any]:
    return {"tranche_id": draw(IDS), "face_value": draw(MONEY), "coupon_pct": draw(st.floats(0, 100)),
            "issue_date": draw(DATES), "maturity_date": draw(DATES),
            "seniority": draw(st.sampled_from(["senior", "mezz", ""])),
            "coupon_frequency": draw(st.sampled_from([1, 2, 4, 12, 3, 0, "4"])),
            "market": draw(st.sampled_from(["CIBM", "SSE", "SZSE", "HKEX"])),
            "amortisation": draw(st.lists(st.fixed_dictionaries({"date": DATES, "pct_of_original": MONEY}),
                                          max_size=3)),
            "put_dates": draw(st.lists(DATES, max_size=2))}  # fmt: skip


@st.composite
def deal(draw: st.DrawFn) -> dict[str, Any]:
    return {"event_id": draw(IDS), "deal_id": draw(IDS), "issuer_id": draw(IDS), "issuer_name": "I",
            "announced_at": draw(TIMES), "currency": draw(st.sampled_from(["CNY", "USD", "XX"])),
            "asset_type": "toll_road", "programme_size": draw(st.none() | MONEY),
            "tranches": draw(st.lists(tranche(), min_size=0, max_size=3))}  # fmt: skip


@st.composite
def quote(draw: st.DrawFn) -> dict[str, Any]:
    return {"event_id": draw(IDS), "tranche_id": draw(IDS), "ts": draw(TIMES), "price": draw(PRICES),
            "bid": draw(st.none() | PRICES), "ask": draw(st.none() | PRICES),
            "price_basis": draw(st.sampled_from(["remaining", "original", "dirty"]))}  # fmt: skip


@st.composite
def financials(draw: st.DrawFn) -> dict[str, Any]:
    return {"event_id": draw(IDS), "issuer_id": draw(IDS), "period_start": draw(DATES), "period_end": draw(DATES),
            "net_income": draw(MONEY), "revenue": draw(st.none() | MONEY), "reported_at": draw(TIMES)}  # fmt: skip


@st.composite
def distribution(draw: st.DrawFn) -> dict[str, Any]:
    return {"event_id": draw(IDS), "tranche_id": draw(IDS), "payment_date": draw(DATES), "reported_at": draw(TIMES),
            "interest_due": draw(MONEY), "interest_paid": draw(MONEY), "principal_due": draw(MONEY),
            "principal_paid": draw(MONEY), "support_drawn": draw(MONEY),
            "factor_after": draw(st.none() | st.floats(-0.5, 1.5))}  # fmt: skip


@st.composite
def entity(draw: st.DrawFn) -> dict[str, Any]:
    return {"event_id": draw(IDS), "entity_id": draw(IDS), "parent_id": draw(st.none() | IDS),
            "kind": draw(st.sampled_from(["government", "lgfv", "soe", "private", "other", "bank"])),
            "name": draw(st.none() | IDS), "region": draw(st.none() | IDS), "updated_at": draw(TIMES)}  # fmt: skip


@st.composite
def servicer_report(draw: st.DrawFn) -> dict[str, Any]:
    return {"event_id": draw(IDS), "deal_id": draw(IDS), "period_start": draw(DATES), "period_end": draw(DATES),
            "reported_at": draw(TIMES), "collections": draw(MONEY), "debt_service_due": draw(MONEY),
            "reserve_balance": draw(st.none() | MONEY), "reserve_required": draw(st.none() | MONEY),
            "delinquency_pct": draw(st.none() | st.floats(-5, 120)), "default_pct": draw(st.none() | MONEY),
            "triggers": draw(st.lists(st.fixed_dictionaries({"name": IDS, "breached": st.booleans()}),
                                      max_size=2))}  # fmt: skip


@st.composite
def rating(draw: st.DrawFn) -> dict[str, Any]:
    subject = draw(st.sampled_from([{"tranche_id": draw(IDS)}, {"issuer_id": draw(IDS)}, {}]))
    return {"event_id": draw(IDS), **subject, "agency": draw(st.sampled_from(["ccxi", "dagong", ""])),
            "rating": draw(st.sampled_from(["AAA", "AA+", "A-", "BBB", "D", "Z"])),
            "outlook": draw(st.none() | st.sampled_from(["stable", "negative", "sideways"])),
            "ts": draw(TIMES)}  # fmt: skip


SHAPED = {
    QUOTES: quote(),
    DEALS: deal(),
    FINANCIALS: financials(),
    DISTRIBUTIONS: distribution(),
    ENTITIES: entity(),
    SERVICER_REPORTS: servicer_report(),
    RATINGS: rating(),
}


@st.composite
def corrupted(draw: st.DrawFn, topic: str) -> dict[str, Any]:
    """A well-shaped event with one field replaced by anything at all, or dropped."""
    value = draw(SHAPED[topic])
    field = draw(st.sampled_from(sorted(value)))
    if draw(st.booleans()):
        value[field] = draw(JSON)
    else:
        del value[field]
    return value


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


RAW = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([
        b"", b"null", b"[]", b"{}", b'"x"', b"\xff\xfe\xfd", b'{"event_id": "\xc3\x28"}', b"{" * 100_000,
        b"[" * 200_000 + b"]" * 200_000, b'{"price": NaN}', b'{"price": Infinity}', b'{"a":1,"a":2}',
        b'{"event_id": "' + b"x" * (MAX_MESSAGE_BYTES + 10) + b'"}', b'{"event_id": "' + b"y" * 999_000 + b'"}',
        b"\x00" * 64, "\ufeff{}".encode(),
    ]),
    JSON.map(encode),
)  # fmt: skip


class Recorder:
    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.reasons: list[str] = []

    async def publish_many(
        self, records: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        for _, _, _, headers in records:
            found = dict(headers)
            self.kinds.append(found["tw-reason-kind"].decode())
            self.reasons.append(found["tw-reason"].decode())

    async def tail_headers(self, topic: str, per_partition: int) -> list[list[tuple[str, bytes]]]:
        return []  # every redelivered message's dead letter is recorded again, as each run's own


def run_batch(messages: list[tuple[str, bytes]]) -> Recorder:
    recorder = Recorder()
    handler = BatchHandler(MemoryStore(), RulesConfig(), recorder, Metrics())
    batch = [Envelope(t, 0, i, None, raw, 0.0) for i, (t, raw) in enumerate(messages)]

    async def go() -> None:
        # One event per batch as well as all in one: both paths of the handler see every example.
        await handler.handle(batch)
        for env in batch:
            await handler.handle([env])

    asyncio.run(go())
    return recorder


# Examples per property: 300 in CI, 10,000 under TW_RELIABILITY_FULL=1 (`make reliability`), each topic drawn
# alike; TW_RELIABILITY_FUZZ_EXAMPLES sets it.
FUZZ = settings(max_examples=size_from_env("FUZZ_EXAMPLES", 300, 10_000), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.data_too_large])  # fmt: skip


def test_every_input_topic_is_fuzzed() -> None:
    # A topic added to the contract without a strategy here would be fuzzed as raw bytes only.
    assert set(SHAPED) == set(INPUT_TOPICS)


@FUZZ
@given(topic=st.sampled_from(INPUT_TOPICS), raw=RAW)
def test_parse_never_raises_on_any_bytes(topic: str, raw: bytes) -> None:
    result = parse(topic, raw)
    if isinstance(result, Rejected):
        assert result.reason and result.kind
        assert len(result.reason) < 5_000, "a reason a human can read, not the whole message back"


@FUZZ
@given(st.data())
def test_parse_never_raises_on_corrupted_events(data: st.DataObject) -> None:
    topic = data.draw(st.sampled_from(INPUT_TOPICS))
    value = data.draw(st.one_of(corrupted(topic), SHAPED[topic]))
    result = parse(topic, encode(value))
    if not isinstance(result, Rejected):
        for number in result.model_dump().values():
            assert not (isinstance(number, float) and not math.isfinite(number))


@FUZZ
@given(
    st.lists(st.sampled_from(INPUT_TOPICS).flatmap(lambda t: SHAPED[t].map(lambda v: (t, v))), max_size=12)
)
def test_apply_never_raises_on_what_parse_accepts(events: list[tuple[str, dict[str, Any]]]) -> None:
    recorder = run_batch([(t, encode(v)) for t, v in events])
    assert "processing_error" not in recorder.kinds, recorder.reasons


def test_the_cross_event_cases_are_handled() -> None:
    terms = {"face_value": 6e8, "coupon_pct": 2.6, "issue_date": "2025-01-15", "maturity_date": "2035-01-15"}
    d1 = {"event_id": "d1", "deal_id": "D1", "issuer_id": "I1", "issuer_name": "One", "asset_type": "toll_road",
          "announced_at": "2025-01-10T10:00:00+08:00", "tranches": [{"tranche_id": "T", **terms}]}  # fmt: skip
    d2 = {**d1, "event_id": "d2", "deal_id": "D2", "issuer_id": "I2"}  # the same tranche, another deal
    q_early = {"event_id": "q1", "tranche_id": "T", "ts": "2025-01-05T09:30:00+08:00", "price": 94.0}
    q_dup = {**q_early, "price": 50.0}  # same event_id, different content
    far = {"event_id": "q2", "tranche_id": "T", "ts": "9999-12-31T23:59:59-12:00", "price": 90.0}
    recorder = run_batch([(QUOTES, encode(q_early)), (DEALS, encode(d1)), (DEALS, encode(d2)),
                          (QUOTES, encode(q_dup)), (QUOTES, encode(far))])  # fmt: skip
    assert "processing_error" not in recorder.kinds, recorder.reasons


def test_a_stamp_outside_market_time_is_rejected_not_crashed_on() -> None:
    # Found by the fuzz: 0001-01-01T00:00:00+14:00 parsed, then apply overflowed converting it to UTC;
    # 2199-12-31T20:00:00+00:00 parsed, then QuantLib refused its China-time settlement date in 2200;
    # 1901-01-01T00:00:00+00:00 parsed, then stale_quote walked the calendar back before 1901.
    for ts in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2199-12-31T20:00:00+00:00",
               "1901-01-01T00:00:00+00:00"):  # fmt: skip
        result = parse(QUOTES, encode({"event_id": "q", "tranche_id": "T", "ts": ts, "price": 95.0}))
        assert isinstance(result, Rejected) and "outside the years 1902 to 2198" in result.reason
