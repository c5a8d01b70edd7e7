"""SIGKILL the worker at random points of a generated market and restart it each time: the alerts, the
documents in Redis, the notices Slack received and the dead letters of the bad messages (among the quotes,
and on the v2 topics: entities, distributions, servicer reports, ratings) equal those of an undisturbed run.

CI size: TW_RELIABILITY_EVENTS (default 5,000) events and TW_RELIABILITY_KILLS (default 3) kills;
TW_RELIABILITY_FULL=1 (`make reliability`) runs 50,000 events and 10 kills.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from streams.kafka.broker import EmbeddedBroker
from streams.kafka.topics import DEADLETTER
from tests.reliability.harness import (
    Chaos,
    Killer,
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
from tests.support.kafka_io import read_all
from tests.support.slack_stub import SlackStub
from tests.support.wait import wait_for
from tests.support.worker_process import WorkerProcess

pytestmark = [pytest.mark.integration, pytest.mark.reliability, pytest.mark.timeout(TIMEOUT)]
SINKS = ("log", "kafka", "slack")


async def test_sigkill_at_random_points_loses_nothing_and_doubles_nothing(
    broker: EmbeddedBroker,
    worker_factory: Callable[..., WorkerProcess],
    slack: SlackStub,
    redis_client: redis.Redis,
    redis_prefix: str,
    show: Callable[[str, dict[str, object]], None],
    tmp_path: Path,
) -> None:
    events, kills = size_from_env("EVENTS", 5_000, 50_000), size_from_env("KILLS", 3, 10)
    scenario = generate(events, seed=6, bad=events // 50)
    reference = await reference_run(scenario)
    progress = Progress(redis_client, redis_prefix)
    total = sum(len(ids) for ids in scenario.distinct_ids().values())
    rng = random.Random(scenario.seed)
    killer = Killer(
        lambda: worker_factory(**worker_overrides(tmp_path, slack.url)),
        probe=lambda: f", slack backlog {progress.backlog('slack')}",
    )
    chaos = Chaos(sorted(rng.sample(range(total // 20, total - total // 20), kills)), killer, rng)
    killer.worker.wait_ready()
    replay(scenario, broker.bootstrap, progress, chaos, timeout=900)
    while chaos.targets:  # targets the stream outran: strike while the outbox drains
        chaos.maybe_strike(progress.total(), force=True)
    wait_for(lambda: progress.outbox_drained(SINKS), timeout=300, what="every sink's outbox drained")
    wait_for(
        lambda: len(read_all(broker.bootstrap, DEADLETTER)) >= len(reference.dead_letters),
        timeout=120,
        what="every bad message dead-lettered",
    )

    want = [notice_key(a) for a in reference.notices]
    stored = compare(want, stored_history(redis_client, redis_prefix, reference.notices))
    on_topic = compare(want, kafka_alerts(broker.bootstrap))
    in_slack = compare(expected_slack_texts(reference.notices), slack_texts(slack))
    documents = differing_documents(redis_client, redis_prefix, reference)
    dead = compare(
        [v.decode() for v in reference.dead_letters],
        [r.value.decode() for r in read_all(broker.bootstrap, DEADLETTER)],
    )
    show(
        "crash replay (SIGKILL)",
        {
            "events replayed": scenario.events,
            "by topic": scenario.by_topic(),
            "distinct events": total,
            "crashes survived": chaos.strikes,
            "kill points": "; ".join(chaos.log),
            "documents compared / differing": f"{len(reference.documents)} / {len(documents)}",
            "alerts expected": stored.expected,
            "alerts lost (Redis)": stored.lost,
            "alerts doubled (Redis)": stored.doubled,
            "abs.alerts lost": on_topic.lost,
            "abs.alerts re-sent": on_topic.doubled,
            "slack lost": in_slack.lost,
            "slack re-sent (kill between send and nflog write)": in_slack.doubled,
            "dead letters expected": dead.expected,
            "dead letters lost / repeated": f"{dead.lost} / {dead.doubled}",
        },
    )
    assert documents == []
    assert (stored.lost, stored.doubled, stored.extra) == (0, 0, 0)
    assert (on_topic.lost, on_topic.extra) == (0, 0)
    assert (in_slack.lost, in_slack.extra) == (0, 0)
    # abs.alerts is read back after a restart, so a notice published before a kill is not published again;
    # Slack cannot be read back: a re-send there needs a kill between its send and its nflog write.
    assert on_topic.doubled == 0
    assert in_slack.doubled <= chaos.strikes
    # The dead-letter topic is its own ledger too: a redelivered bad message is not dead-lettered twice.
    assert (dead.lost, dead.doubled, dead.extra) == (0, 0, 0)
