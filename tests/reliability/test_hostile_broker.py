"""Thousands of bad messages on the real broker, around a good market: the worker neither crashes nor
stalls, every bad message reaches the dead-letter topic with a reason a person can read, the good events
still alert exactly as an undisturbed run, and the worker's memory stays bounded.

Every input topic gets messages its model refuses (the v2 topics too: negative amounts, a factor above 1, a
period ending before it starts, both or neither subject of a rating, a rating off the scale, an entity its
own parent, an unknown kind) besides bytes no topic accepts.

CI size: TW_RELIABILITY_BAD (default 2,000) bad messages; TW_RELIABILITY_FULL=1 sends 10,000.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from kafka import KafkaProducer

from streams.ingest.deadletter import TRUNCATED_HEAD_BYTES
from streams.ingest.parse import MAX_MESSAGE_BYTES
from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import (
    DEADLETTER,
    DEALS,
    DISTRIBUTIONS,
    ENTITIES,
    FINANCIALS,
    INPUT_TOPICS,
    QUOTES,
    RATINGS,
    SERVICER_REPORTS,
)
from tests.reliability.harness import Progress, compare, kafka_alerts, notice_key, replay, worker_overrides
from tests.reliability.scenario import TIMEOUT, generate, reference_run, size_from_env
from tests.support.kafka_io import read_all
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(TIMEOUT)]
SINKS = ("log", "kafka")
RSS_LIMIT_MB = 1024  # the worker idles at a few hundred MB; a leak of the bad messages would pass this

Q = {"tranche_id": "T-BAD", "ts": "2025-09-01T09:30:00+08:00", "price": 95.0}
TERMS = {"tranche_id": "T-BAD", "face_value": 6e8, "coupon_pct": 2.6, "issue_date": "2025-01-15",
         "maturity_date": "2035-01-15"}  # fmt: skip
D = {"deal_id": "D-BAD", "issuer_id": "bad", "issuer_name": "Bad", "announced_at": "2025-01-10T10:00:00+08:00",
     "asset_type": "toll_road", "tranches": [TERMS]}  # fmt: skip
F = {"issuer_id": "bad", "period_start": "2025-01-01", "period_end": "2025-06-30", "net_income": -1e6,
     "reported_at": "2025-08-30T18:00:00+08:00"}  # fmt: skip
P = {"tranche_id": "T-BAD", "payment_date": "2026-01-15", "reported_at": "2026-01-16T18:00:00+08:00",
     "interest_due": 3.9e6, "interest_paid": 3.9e6, "principal_due": 0, "principal_paid": 0}  # fmt: skip
S = {"deal_id": "D-BAD", "period_start": "2025-07-01", "period_end": "2025-09-30",
     "reported_at": "2025-10-20T18:00:00+08:00", "collections": 4.1e7, "debt_service_due": 3.9e7}  # fmt: skip
R = {"tranche_id": "T-BAD", "agency": "CCXI", "rating": "AA+", "ts": "2025-11-03T17:00:00+08:00"}
E = {"entity_id": "bad", "kind": "lgfv", "parent_id": "gov", "updated_at": "2025-01-01T00:00:00+08:00"}


def _j(value: object) -> bytes:
    return json.dumps(value).encode()


# Each maker turns a serial number into one bad message, unique by that number.
MAKERS: list[tuple[str | None, Callable[[int], bytes]]] = [
    (None, lambda i: b"{not json %d" % i),
    (None, lambda i: b"\xff\xfe\xfa invalid utf-8 %d" % i),
    (None, lambda i: _j([i, "an array, not an object"])),
    (None, lambda i: b'{"event_id": "n%d", "a": ' % i + b"[" * 5000 + b"]" * 5000 + b"}"),
    (QUOTES, lambda i: _j({**Q, "event_id": f"q{i}", "price": "ninety-five"})),
    (
        QUOTES,
        lambda i: (
            b'{"event_id": "q%d", "tranche_id": "T", "ts": "2025-09-01T09:30:00+08:00", "price": NaN}' % i
        ),
    ),
    (QUOTES, lambda i: _j({**Q, "event_id": f"q{i}", "price": -5})),
    (QUOTES, lambda i: _j({**Q, "event_id": f"q{i}", "ts": "9999-12-31T23:59:59-12:00"})),
    (QUOTES, lambda i: _j({**Q, "event_id": f"q{i}", "ts": "0000-01-01T00:00:00+08:00"})),
    (QUOTES, lambda i: _j({"event_id": f"q{i}", "tranche_id": "T", "price": 95})),
    (DEALS, lambda i: _j({**D, "event_id": f"d{i}", "tranches": [{**TERMS, "face_value": -6e8}]})),
    (DEALS, lambda i: _j({**D, "event_id": f"d{i}", "tranches": []})),
    (DEALS, lambda i: _j({**D, "event_id": f"d{i}", "tranches": [{**TERMS, "maturity_date": "2020-01-01"}]})),
    (DEALS, lambda i: _j({**D, "event_id": f"d{i}", "tranches": [TERMS, TERMS]})),
    (FINANCIALS, lambda i: _j({**F, "event_id": f"f{i}", "period_end": "2024-01-01"})),
    (FINANCIALS, lambda i: b'{"event_id": "f%d", "issuer_id": "x", "net_income": Infinity}' % i),
    (FINANCIALS, lambda i: _j({**F, "event_id": f"f{i}", "net_income": {"deeply": [[["nested"]]]}})),
    (DISTRIBUTIONS, lambda i: _j({**P, "event_id": f"p{i}", "interest_paid": -1.0})),
    (DISTRIBUTIONS, lambda i: _j({**P, "event_id": f"p{i}", "factor_after": 1.5})),
    (DISTRIBUTIONS, lambda i: b'{"event_id": "p%d", "tranche_id": "T", "interest_due": NaN}' % i),
    (SERVICER_REPORTS, lambda i: _j({**S, "event_id": f"s{i}", "period_end": "2025-06-30"})),
    (SERVICER_REPORTS, lambda i: _j({**S, "event_id": f"s{i}", "debt_service_due": -3.9e7})),
    (SERVICER_REPORTS, lambda i: _j({**S, "event_id": f"s{i}", "delinquency_pct": 140.0})),
    (RATINGS, lambda i: _j({**R, "event_id": f"r{i}", "issuer_id": "bad"})),
    (RATINGS, lambda i: _j({k: v for k, v in {**R, "event_id": f"r{i}"}.items() if k != "tranche_id"})),
    (RATINGS, lambda i: _j({**R, "event_id": f"r{i}", "rating": "AAA+"})),
    (ENTITIES, lambda i: _j({**E, "event_id": f"e{i}", "parent_id": "bad"})),
    (ENTITIES, lambda i: _j({**E, "event_id": f"e{i}", "kind": "bank"})),
]
HUGE: list[Callable[[int], bytes]] = [
    lambda i: _j({**Q, "event_id": f"h{i}" + "x" * 999_000}),  # a 1 MB string, under the size limit
    lambda i: _j({**Q, "event_id": f"h{i}", "source": "y" * 1_100_000}),  # over the 1 MB limit
]


def bad_messages(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    messages = []
    for i in range(count):
        if i % 500 == 499:
            messages.append((rng.choice(INPUT_TOPICS), HUGE[(i // 500) % 2](i)))
            continue
        topic, make = rng.choice(MAKERS)
        messages.append((topic or rng.choice(INPUT_TOPICS), make(i)))
    return messages


def send(bootstrap: str, messages: list[tuple[str, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    try:
        for topic, raw in messages:
            producer.send(topic, value=raw)
        producer.flush(120)
    finally:
        producer.close(10)


class RssSampler(threading.Thread):
    """Samples VmRSS of a process from /proc every half second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.path = Path(f"/proc/{pid}/status")
        self.samples: list[int] = []
        self.halt = threading.Event()

    def rss_mb(self) -> int:
        for line in self.path.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
        return 0

    def run(self) -> None:
        while not self.halt.wait(0.5):
            try:
                self.samples.append(self.rss_mb())
            except OSError:
                return


async def test_bad_messages_are_dead_lettered_and_the_good_still_alert(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    redis_client: redis.Redis,
    redis_prefix: str,
    show: Callable[[str, dict[str, object]], None],
    tmp_path: Path,
) -> None:
    count = size_from_env("BAD", 2_000, 10_000)
    rng = random.Random(64)
    bad = bad_messages(count, rng)
    scenario = generate(size_from_env("EVENTS", 5_000, 50_000) // 10, seed=64)
    reference = await reference_run(scenario)
    worker = worker_factory(**worker_overrides(tmp_path))
    worker.wait_ready()
    assert worker.process is not None
    sampler = RssSampler(worker.process.pid)
    rss_start = sampler.rss_mb()
    sampler.start()

    half = len(bad) // 2
    send(broker.bootstrap, bad[:half])  # ahead of the good events in their partitions: they must get past
    progress = Progress(redis_client, redis_prefix)
    replay(scenario, broker.bootstrap, progress, timeout=600)
    send(broker.bootstrap, bad[half:])
    dead = wait_for(lambda: len(r := read_all(broker.bootstrap, DEADLETTER)) >= len(bad) and r, timeout=600,
                    what=f"{len(bad)} dead letters")  # fmt: skip
    wait_for(lambda: progress.outbox_drained(SINKS), timeout=300, what="the good alerts sent")
    sampler.halt.set()
    sampler.join()
    rss_end = sampler.rss_mb()

    got = Counter(record.value for record in dead)
    # An oversized message goes with its head only (streams/ingest/deadletter.py): it could not be published whole.
    want = Counter(raw if len(raw) <= MAX_MESSAGE_BYTES else raw[:TRUNCATED_HEAD_BYTES] for _, raw in bad)
    reasons: dict[str, str] = {}
    for record in dead:
        headers = {k: v.decode(errors="replace") for k, v in record.headers}
        assert headers["tw-reason"] and len(headers["tw-reason"]) <= 2000, headers
        assert headers["tw-source-topic"] in INPUT_TOPICS
        reasons.setdefault(headers["tw-reason-kind"], headers["tw-reason"][:150])
    alerts = compare([notice_key(a) for a in reference.notices], kafka_alerts(broker.bootstrap))
    status = worker.http("/healthz")[0]
    show("hostile input on the broker", {
        "bad messages sent": len(bad),
        "dead letters (matching / missing / extra)": f"{sum((got & want).values())} / "
                                                     f"{sum((want - got).values())} / {sum((got - want).values())}",
        "good events / alerts expected / lost / doubled": f"{scenario.events} / {alerts.expected} / "
                                                          f"{alerts.lost} / {alerts.doubled}",
        "worker alive, /healthz": f"{worker.process.poll() is None}, {status}",
        "worker RSS MB (start / peak / end)": f"{rss_start} / {max(sampler.samples, default=rss_end)} / {rss_end}",
        **{f"reason [{kind}]": text for kind, text in sorted(reasons.items())},
    })  # fmt: skip
    assert got == want
    assert (alerts.lost, alerts.doubled, alerts.extra) == (0, 0, 0)
    assert worker.process.poll() is None and status == 200
    assert max(sampler.samples, default=rss_end) < RSS_LIMIT_MB
