"""A second worker joins mid-stream, takes partitions, and leaves again: alerts neither lost nor doubled."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from streams.kafka.broker import EmbeddedBroker, free_port
from tests.reliability.harness import (
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
from tests.support.slack_stub import SlackStub
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(TIMEOUT)]
SINKS = ("log", "kafka", "slack")


def processed(worker: WorkerProcess) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in worker.metrics().splitlines()
        if line.startswith("tranchewatch_events_total{") and 'outcome="processed"' in line
    )


async def test_a_worker_joins_and_leaves_mid_stream(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    redis_client: redis.Redis,
    redis_prefix: str,
    show: Callable[[str, dict[str, object]], None],
    tmp_path: Path,
) -> None:
    # The quotes go out in pieces, each once the one before is stored, from a thread, so that the stream
    # outlasts a worker's start and the membership changes land mid-stream.
    scenario = generate(size_from_env("EVENTS", 5_000, 50_000), seed=63).chunked("quotes", 30)
    reference = await reference_run(scenario)
    overrides = worker_overrides(tmp_path, slack.url)
    first = worker_factory(**overrides)
    first.wait_ready()
    progress = Progress(redis_client, redis_prefix)
    total = sum(len(ids) for ids in scenario.distinct_ids().values())
    failures: list[BaseException] = []

    def run() -> None:
        try:
            replay(scenario, broker.bootstrap, progress, timeout=600, pause=0.5)
        except BaseException as exc:
            failures.append(exc)

    feeder = threading.Thread(target=run, daemon=True)
    feeder.start()
    wait_for(lambda: progress.total() >= total // 5, timeout=300, what="a fifth of the stream stored")
    joined_at = progress.total()
    second = worker_factory(**overrides, TRANCHEWATCH_HTTP_PORT=str(free_port()))
    second.wait_ready()  # it holds partitions now
    wait_for(lambda: processed(second) > 0, timeout=300, what="worker 2 processing events")
    wait_for(
        lambda: progress.total() >= (total * 2) // 3, timeout=300, what="two thirds of the stream stored"
    )
    left_at, by_second = progress.total(), processed(second)  # a batch in flight may still finish after
    second.stop(signal.SIGTERM)
    feeder.join(timeout=900)
    assert not failures, failures
    assert left_at < total, "the stream ended before worker 2 left: nothing to prove"
    wait_for(lambda: progress.outbox_drained(SINKS), timeout=300, what="every sink's outbox drained")
    by_first = processed(first)

    want = [notice_key(a) for a in reference.notices]
    stored = compare(want, stored_history(redis_client, redis_prefix, reference.notices))
    on_topic = compare(want, kafka_alerts(broker.bootstrap))
    in_slack = compare(expected_slack_texts(reference.notices), slack_texts(slack))
    documents = differing_documents(redis_client, redis_prefix, reference)
    show("rebalance (a second worker joins, then leaves)", {
        "events replayed": scenario.events,
        "worker 2 joined / left at (events stored)": f"{joined_at} / {left_at}",
        "events processed by worker 1 / worker 2 / distinct": f"{by_first:.0f} / {by_second:.0f} / {total}",
        "documents differing": len(documents),
        "alerts expected / lost / doubled": f"{stored.expected} / {stored.lost} / {stored.doubled}",
        "abs.alerts lost / doubled": f"{on_topic.lost} / {on_topic.doubled}",
        "slack lost / doubled": f"{in_slack.lost} / {in_slack.doubled}",
    })  # fmt: skip
    assert documents == []
    assert (stored.lost, stored.doubled, stored.extra) == (0, 0, 0)
    assert (on_topic.lost, on_topic.doubled, on_topic.extra) == (0, 0, 0)
    assert (in_slack.lost, in_slack.doubled, in_slack.extra) == (0, 0, 0)
