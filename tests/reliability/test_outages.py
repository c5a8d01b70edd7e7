"""Redis goes away mid-stream and comes back; the broker restarts: the worker holds, then carries on.

During a Redis outage the worker must stop consuming (no offset moves, nothing counted as processed),
say so on /readyz (503), stay alive, and once Redis is back finish with the same state, alerts and Slack
notices as an undisturbed run. After a broker restart it must reconnect and take new input without help.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from kafka import KafkaAdminClient

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import ensure_topics
from streams.settings import Settings
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
from tests.reliability.scenario import TIMEOUT, Scenario, generate, reference_run, size_from_env
from tests.support.redis_server import OwnRedis
from tests.support.slack_stub import SlackStub
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(TIMEOUT)]
SINKS = ("log", "kafka", "slack")


def processed(worker: WorkerProcess) -> float:
    total = 0.0
    for line in worker.metrics().splitlines():
        if line.startswith("tranchewatch_events_total{") and 'outcome="processed"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def committed_offsets(bootstrap: str, group: str) -> dict[str, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        offsets = admin.list_group_offsets(group)[group]
        return {f"{tp.topic}[{tp.partition}]": meta.offset for tp, meta in offsets.items()}
    finally:
        admin.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[..., OwnRedis]]:
    started: list[OwnRedis] = []

    def start(**kwargs: object) -> OwnRedis:
        server = OwnRedis(tmp_path / f"redis-{len(started)}", **kwargs).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def test_redis_outage_holds_the_stream_and_resumes_with_nothing_lost(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    own_redis: Callable[..., OwnRedis],
    redis_prefix: str,
    show: Callable[[str, dict[str, object]], None],
    tmp_path: Path,
) -> None:
    server = own_redis()
    scenario = generate(size_from_env("EVENTS", 5_000, 50_000), seed=61)
    reference = await reference_run(scenario)
    worker = worker_factory(
        TRANCHEWATCH_REDIS_URL=server.url,
        **worker_overrides(tmp_path, slack.url),
        TRANCHEWATCH_REDIS_RETRY_MAX_SECONDS="1",
    )
    worker.wait_ready()
    group = worker.env["TRANCHEWATCH_APP_ID"]
    client = server.client()
    progress = Progress(client, redis_prefix)
    total = sum(len(ids) for ids in scenario.distinct_ids().values())
    figures: dict[str, object] = {}

    def outage(stored: int) -> str:
        server.stop()  # SIGKILL: AOF with appendfsync always keeps every acknowledged write
        down = time.monotonic()
        wait_for(lambda: worker.http("/readyz")[0] == 503, timeout=60, what="/readyz 503 during the outage")
        figures["readyz 503 after (s)"] = round(time.monotonic() - down, 1)
        time.sleep(3)  # offsets of batches stored before the outage are committed within a second or so
        held = (committed_offsets(broker.bootstrap, group), processed(worker))
        time.sleep(5)
        later = (committed_offsets(broker.bootstrap, group), processed(worker))
        assert held == later, "the worker went on consuming while Redis was down"
        assert worker.process is not None and worker.process.poll() is None, "the worker died"
        figures["held offsets (sum) / processed during outage"] = f"{sum(held[0].values())} / {held[1]:.0f}"
        figures["outage length (s)"] = round(time.monotonic() - down, 1)
        server.start()
        wait_for(
            lambda: worker.http("/readyz")[0] == 200, timeout=120, what="/readyz 200 after Redis is back"
        )
        return ""

    chaos = Chaos([total // 2], outage, random.Random(61))
    replay(scenario, broker.bootstrap, progress, chaos, timeout=600)
    wait_for(lambda: progress.outbox_drained(SINKS), timeout=300, what="every sink's outbox drained")

    want = [notice_key(a) for a in reference.notices]
    stored = compare(want, stored_history(client, redis_prefix, reference.notices))
    on_topic = compare(want, kafka_alerts(broker.bootstrap))
    in_slack = compare(expected_slack_texts(reference.notices), slack_texts(slack))
    documents = differing_documents(client, redis_prefix, reference)
    show("Redis outage (own redis-server, AOF, SIGKILL mid-stream)", {
        "events replayed": scenario.events,
        "outage struck at": "; ".join(chaos.log),
        **figures,
        "documents differing": len(documents),
        "alerts expected / lost / doubled": f"{stored.expected} / {stored.lost} / {stored.doubled}",
        "abs.alerts lost / re-sent": f"{on_topic.lost} / {on_topic.doubled}",
        "slack lost / re-sent": f"{in_slack.lost} / {in_slack.doubled}",
    })  # fmt: skip
    client.close()
    assert chaos.strikes == 1 and documents == []
    assert (stored.lost, stored.doubled, stored.extra) == (0, 0, 0)
    assert (on_topic.lost, on_topic.doubled, on_topic.extra) == (0, 0, 0)
    assert (in_slack.lost, in_slack.doubled, in_slack.extra) == (0, 0, 0)


async def test_broker_restart_the_worker_reconnects_and_carries_on(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    redis_client: redis.Redis,
    redis_prefix: str,
    show: Callable[[str, dict[str, object]], None],
    tmp_path: Path,
) -> None:
    scenario = generate(size_from_env("EVENTS", 5_000, 50_000) // 5, seed=62)
    reference = await reference_run(scenario)
    worker = worker_factory(**worker_overrides(tmp_path, slack.url))
    worker.wait_ready()
    progress = Progress(redis_client, redis_prefix)
    cut = [p.name for p in scenario.phases].index("quotes")  # owners, deals and financials before the restart
    before, after = scenario.phases[:cut], scenario.phases[cut:]
    replay(Scenario(scenario.seed, before), broker.bootstrap, progress)
    wait_for(lambda: progress.outbox_drained(SINKS), timeout=120, what="the first phases' notices sent")

    down = time.monotonic()
    broker.stop()  # memory storage: the topics and the group's offsets go with it
    time.sleep(3)
    broker.start()
    ensure_topics(Settings(kafka_bootstrap=broker.bootstrap))
    restarted = time.monotonic()
    replay(Scenario(scenario.seed, after), broker.bootstrap, progress, timeout=300)
    wait_for(lambda: progress.outbox_drained(SINKS), timeout=300, what="every sink's outbox drained")
    caught_up = time.monotonic()

    # The reference handles the phases in order, so the notices of the phases before are its first ones.
    later = reference.notices[len((await reference_run(Scenario(scenario.seed, before))).notices) :]
    on_topic = compare([notice_key(a) for a in later], kafka_alerts(broker.bootstrap))
    in_slack = compare(expected_slack_texts(reference.notices), slack_texts(slack))
    documents = differing_documents(redis_client, redis_prefix, reference)
    show("broker restart (Tansu, memory storage, same port, topics re-created)", {
        "events before / after the restart": f"{sum(len(p.records) for p in before)} / "
                                             f"{sum(len(p.records) for p in after)}",
        "broker away until topics re-created (s)": round(restarted - down, 1),
        "new input stored and notified within (s)": round(caught_up - restarted, 1),
        "worker restarts by hand": 0,
        "documents differing": len(documents),
        "abs.alerts (new topic) lost / doubled": f"{on_topic.lost} / {on_topic.doubled}",
        "slack lost / doubled": f"{in_slack.lost} / {in_slack.doubled}",
    })  # fmt: skip
    assert worker.process is not None and worker.process.poll() is None
    assert documents == []
    assert (in_slack.lost, in_slack.doubled, in_slack.extra) == (0, 0, 0)
    assert (on_topic.lost, on_topic.doubled, on_topic.extra) == (0, 0, 0)
