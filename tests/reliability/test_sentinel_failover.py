"""Redis through Sentinel, for real: a primary, two replicas and a Sentinel (Debian's redis-server on loopback
ports of the test's own), a worker given only the sentinels (TRANCHEWATCH_REDIS_SENTINELS) and
TRANCHEWATCH_REDIS_MIN_REPLICAS=1. The primary is SIGKILLed in the middle of a replay; Sentinel promotes a
replica, the worker finds it by itself and carries on. The state in Redis, abs.alerts and the notices Slack
received equal those of an undisturbed run: nothing lost, nothing doubled.

A second test shows what TRANCHEWATCH_REDIS_MIN_REPLICAS=0 risks, deterministically: replication is cut
(the replicas frozen, their links dropped by the primary) while quotes arrive, then the primary dies and a
replica is promoted. With 0 the worker acknowledged those quotes (their Kafka offsets moved) and the new
primary never had them: lost for good, and nothing tells. With 1 the same batches were held (WAIT saw no
replica), and after the failover they are applied on the new primary.

Why nothing is lost: a batch's Kafka offsets move only after WAIT saw a replica acknowledge its commit, and
Sentinel promotes the replica that got furthest; a commit cut off by the kill (on the dead primary, or not
acknowledged by a replica in time) raises, and its batch is held and retried on the new primary.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest
from kafka import KafkaAdminClient

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import DEALS, QUOTES
from streams.state.keys import StateKeys
from tests.reliability.harness import (
    Chaos,
    Progress,
    compare,
    differing_documents,
    expected_slack_texts,
    kafka_alerts,
    notice_key,
    replay,
    slack_texts,
    stored_history,
    worker_overrides,
)
from tests.reliability.scenario import TIMEOUT, generate, reference_run, size_from_env
from tests.support.kafka_io import produce
from tests.support.redis_sentinel import SERVICE, ReplicatedRedis
from tests.support.slack_stub import SlackStub
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(TIMEOUT)]
SINKS = ("log", "kafka", "slack")


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[ReplicatedRedis]:
    servers = ReplicatedRedis(tmp_path / "redis").start()
    yield servers
    servers.stop()


async def test_primary_killed_mid_replay_sentinel_fails_over_and_nothing_is_lost_or_doubled(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    replicated: ReplicatedRedis,
    redis_prefix: str,
    show: Callable[[str, dict[str, object]], None],
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    scenario = generate(size_from_env("EVENTS", 5_000, 50_000) // 5, seed=71)
    reference = await reference_run(scenario)
    first_primary = replicated.primary_port()
    worker = worker_factory(
        **worker_overrides(tmp_path, slack.url),
        # No address of a Redis at all: the primary is whatever the sentinels name.
        TRANCHEWATCH_REDIS_URL="redis://sentinel-managed.invalid/0",
        TRANCHEWATCH_REDIS_SENTINELS=replicated.sentinels_setting,
        TRANCHEWATCH_REDIS_SENTINEL_SERVICE=SERVICE,
        TRANCHEWATCH_REDIS_MIN_REPLICAS="1",
        TRANCHEWATCH_REDIS_REPLICA_WAIT_MS="5000",  # a loaded CI machine; WAIT returns as soon as one answers
        TRANCHEWATCH_REDIS_RETRY_MAX_SECONDS="1",
    )
    worker.wait_ready()
    ready = time.monotonic()
    client = replicated.client()
    progress = Progress(client, redis_prefix)
    total = sum(len(ids) for ids in scenario.distinct_ids().values())
    figures: dict[str, object] = {}

    def kill_the_primary(stored: int) -> str:
        new, took = replicated.fail_over()
        figures["primary (port) killed / promoted"] = f"{first_primary} / {new}"
        figures["SIGKILL to promoted replica with a replica (s)"] = round(took, 1)
        return ""

    chaos = Chaos([total // 2], kill_the_primary, random.Random(71))
    replay(scenario, broker.bootstrap, progress, chaos, timeout=600)
    if chaos.targets:  # the stream outran the target: strike while the outbox drains
        chaos.maybe_strike(progress.total(), force=True)
    wait_for(lambda: progress.outbox_drained(SINKS), timeout=300, what="every sink's outbox drained")
    figures["reference and worker start / replay and drain (s)"] = (
        f"{ready - started:.0f} / {time.monotonic() - ready:.0f}"
    )

    want = [notice_key(a) for a in reference.notices]
    stored = compare(want, stored_history(client, redis_prefix, reference.notices))
    on_topic = compare(want, kafka_alerts(broker.bootstrap))
    in_slack = compare(expected_slack_texts(reference.notices), slack_texts(slack))
    documents = differing_documents(client, redis_prefix, reference)
    retried = worker.metric("tranchewatch_redis_errors_total", operation="commit")
    show("Sentinel failover (primary SIGKILLed mid-replay, MIN_REPLICAS=1)", {
        "events replayed": scenario.events,
        "failover struck at": "; ".join(chaos.log),
        **figures,
        "commit attempts that failed and were retried": f"{retried:.0f}",
        "documents compared / differing": f"{len(reference.documents)} / {len(documents)}",
        "alerts expected / lost / doubled": f"{stored.expected} / {stored.lost} / {stored.doubled}",
        "abs.alerts lost / re-sent": f"{on_topic.lost} / {on_topic.doubled}",
        "slack lost / re-sent": f"{in_slack.lost} / {in_slack.doubled}",
    })  # fmt: skip
    client.close()
    assert worker.process is not None and worker.process.poll() is None, "the worker died in the failover"
    assert chaos.strikes == 1 and replicated.primary_port() != first_primary
    assert documents == []
    assert (stored.lost, stored.doubled, stored.extra) == (0, 0, 0)
    assert (on_topic.lost, on_topic.doubled, on_topic.extra) == (0, 0, 0)
    assert (in_slack.lost, in_slack.doubled, in_slack.extra) == (0, 0, 0)


DEAL = {"event_id": "d-1", "deal_id": "D", "issuer_id": "I", "issuer_name": "Issuer", "asset_type": "toll_road",
        "announced_at": "2025-01-10T10:00:00+08:00",
        "tranches": [{"tranche_id": "T", "face_value": 6e8, "coupon_pct": 2.6, "issue_date": "2025-01-15",
                      "maturity_date": "2035-01-15"}]}  # fmt: skip


def quotes(*names: str, day: int) -> list[dict[str, object]]:
    return [
        {
            "event_id": name,
            "tranche_id": "T",
            "ts": f"2025-09-{day:02d}T09:{30 + i:02d}:00+08:00",
            "price": 99.0,
        }
        for i, name in enumerate(names)
    ]


def committed(bootstrap: str, group: str, topic: str) -> int:
    """The consumer group's committed offsets on the topic, summed: how many records it acknowledged."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        offsets = admin.list_group_offsets(group)[group]
        return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)
    finally:
        admin.close()


@pytest.mark.parametrize("min_replicas", [0, 1])
def test_what_min_replicas_0_risks_in_a_failover_and_1_prevents(
    min_replicas: int,
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    replicated: ReplicatedRedis,
    redis_prefix: str,
    show: Callable[[str, dict[str, object]], None],
) -> None:
    worker = worker_factory(
        TRANCHEWATCH_REDIS_URL="redis://sentinel-managed.invalid/0",
        TRANCHEWATCH_REDIS_SENTINELS=replicated.sentinels_setting,
        TRANCHEWATCH_REDIS_SENTINEL_SERVICE=SERVICE,
        TRANCHEWATCH_REDIS_MIN_REPLICAS=str(min_replicas),
        TRANCHEWATCH_REDIS_REPLICA_WAIT_MS="500",
        TRANCHEWATCH_REDIS_RETRY_MAX_SECONDS="1",
    )
    worker.wait_ready()
    group = worker.env["TRANCHEWATCH_APP_ID"]
    client = replicated.client()
    ids = StateKeys(redis_prefix).ids(QUOTES)

    def stored() -> set[str]:
        return {m.decode() for m in cast("list[bytes]", client.zrange(ids, 0, -1))}

    produce(broker.bootstrap, DEALS, [DEAL], key_field="deal_id")
    produce(broker.bootstrap, QUOTES, quotes("before", day=1), key_field="tranche_id")
    wait_for(lambda: stored() == {"before"} and committed(broker.bootstrap, group, QUOTES) == 1,
             timeout=120, what="the first quote stored, replicated and acknowledged")  # fmt: skip

    replicated.cut_replication()
    lagging = [f"lagging-{i}" for i in range(5)]
    produce(broker.bootstrap, QUOTES, quotes(*lagging, day=2), key_field="tranche_id")
    if min_replicas == 0:
        wait_for(lambda: stored() == {"before", *lagging} and committed(broker.bootstrap, group, QUOTES) == 6,
                 timeout=120, what="the lagging quotes committed on the primary and acknowledged to Kafka")  # fmt: skip
    else:
        # The first batch of them is committed on the primary but held (WAIT saw no replica); the ones behind
        # it wait their turn, however the broker split them into batches.
        wait_for(lambda: stored() & set(lagging)
                 and worker.metric("tranchewatch_redis_errors_total", operation="commit") >= 3,
                 timeout=120, what="commits refused for want of a replica")  # fmt: skip
    acknowledged_before_failover = committed(broker.bootstrap, group, QUOTES)

    replicated.fail_over(resume=True)
    produce(broker.bootstrap, QUOTES, quotes("after", day=3), key_field="tranche_id")
    wait_for(lambda: "after" in stored(), timeout=180, what="the worker carrying on on the new primary")
    wait_for(
        lambda: committed(broker.bootstrap, group, QUOTES) == 7, timeout=120, what="every quote acknowledged"
    )
    survivors = stored()
    client.close()
    lost = sorted(set(lagging) - survivors)
    show(f"MIN_REPLICAS={min_replicas}: replication cut, primary killed, replica promoted", {
        "quotes acknowledged to Kafka before the failover": f"{acknowledged_before_failover} of 6",
        "lagging quotes in Redis after the failover": f"{len(lagging) - len(lost)} of {len(lagging)}",
        "lost for good (offsets moved past them)": len(lost),
    })  # fmt: skip
    assert worker.process is not None and worker.process.poll() is None
    if min_replicas == 0:
        # Acknowledged, and gone: Kafka will not deliver them again, and the state does not know.
        assert acknowledged_before_failover == 6 and lost == lagging
    else:
        # Held while no replica had them, then applied on the new primary.
        assert acknowledged_before_failover == 1 and lost == []
    assert {"before", "after"} <= survivors
