"""What the reliability tests share: progress read from Redis, replay with chaos, the comparison, the figures."""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from kafka import KafkaProducer

from alerts.core.model import Alert
from alerts.notify.templates import slack_message
from streams.kafka.publish import message_key
from streams.kafka.topics import ALERTS, INPUT_TOPICS
from streams.state.keys import StateKeys
from tests.reliability.scenario import RULES_FILE, Reference, Scenario
from tests.support.kafka_io import read_json
from tests.support.slack_stub import SlackStub


def worker_overrides(tmp_path: Path, slack_url: str | None = None) -> dict[str, str]:
    """The tests' rules, and a routing file like the default one but with no pause between Slack posts."""
    lines = ["[receivers.log]", 'type = "log"', "[receivers.kafka]", 'type = "kafka"']
    names = ["log", "kafka"]
    if slack_url:
        lines += [
            "[receivers.slack]",
            'type = "slack_webhook"',
            f'url = "{slack_url}"',
            "min_interval_seconds = 0",
        ]
        names.append("slack")
    for name in names:
        lines += ["[[routes]]", f'receiver = "{name}"', "continue = true"]
    lines.insert(0, "inhibit = []")
    routing = tmp_path / "routing.toml"
    routing.write_text("\n".join(lines) + "\n")
    return {
        "TRANCHEWATCH_ROUTING_FILE": str(routing),
        "TRANCHEWATCH_RULES_FILE": str(RULES_FILE),
        # Every id kept (the scenarios span years of event time): Progress counts the ids stored.
        "TRANCHEWATCH_DEDUP_RETENTION_DAYS": "36500",
    }


FIGURES_FILE = Path(__file__).resolve().parents[2] / ".reliability-figures.txt"


class Progress:
    """How far the worker got, read from its committed state: the distinct event ids stored per topic."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def stored(self, topic: str) -> int:
        return int(self.client.zcard(StateKeys(self.prefix).ids(topic)))

    def total(self) -> int:
        return sum(self.stored(t) for t in INPUT_TOPICS)

    def backlog(self, sink: str) -> int:
        cursor: Any = self.client.get(f"{self.prefix}outbox:cursor:{sink}") or b"0-0"
        entries: Any = self.client.xrange(f"{self.prefix}outbox", min=b"(" + cursor, count=100_000)
        return len(entries)

    def outbox_drained(self, sinks: Iterable[str]) -> bool:
        last = self.client.xrevrange(f"{self.prefix}outbox", count=1)
        if not last:
            return True
        newest = last[0][0]
        return all(self.client.get(f"{self.prefix}outbox:cursor:{sink}") == newest for sink in sinks)


def publish(bootstrap: str, records: list[tuple[str, dict[str, Any]]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024)
    try:
        for topic, value in records:
            producer.send(topic, key=message_key(topic, value), value=json.dumps(value).encode())
        producer.flush(120)
    finally:
        producer.close(10)


@dataclass
class Chaos:
    """Strikes (a kill, an outage, a rebalance) when the stored count passes each target."""

    targets: list[int]
    strike: Callable[[int], str]  # does the damage; returns what to note about it
    rng: random.Random
    strikes: int = 0
    stored_at_last: int = -1
    log: list[str] = field(default_factory=list)

    def maybe_strike(self, stored: int, *, force: bool = False) -> None:
        if not self.targets or (stored < self.targets[0] and not force):
            return
        if stored <= self.stored_at_last and not force:
            return  # let the worker make some progress first, so strikes land at different places
        time.sleep(self.rng.uniform(0.0, 0.4))
        self.targets.pop(0)
        note = self.strike(stored)
        self.strikes += 1
        self.log.append(f"#{self.strikes} at {stored} stored{note}")
        self.stored_at_last = stored


class Killer:
    """SIGKILLs the running worker and starts a new one in its place."""

    def __init__(self, start_worker: Callable[[], Any], probe: Callable[[], str] = lambda: "") -> None:
        self.start_worker = start_worker
        self.probe = probe
        self.worker = start_worker()

    def __call__(self, stored: int) -> str:
        noted = self.probe()
        self.worker.stop(signal.SIGKILL)
        self.worker = self.start_worker()
        return noted


def replay(
    scenario: Scenario,
    bootstrap: str,
    progress: Progress,
    chaos: Chaos | None = None,
    timeout: float = 600.0,
    pause: float = 0.0,
) -> None:
    """Publishes phase by phase, each once the one before is stored; strikes the chaos targets on the way."""
    # The ids stored so far: a union, since a duplicate can fall in the piece after its original's
    # (Scenario.chunked), and a sum of each piece's distinct ids would then wait for one id too many.
    seen: dict[str, set[str]] = defaultdict(set)
    wanted: Counter[str] = Counter()
    for phase in scenario.phases:
        for topic, ids in phase.distinct_ids().items():
            seen[topic] |= ids
            wanted[topic] = len(seen[topic])
        publish(bootstrap, phase.records)
        deadline = time.monotonic() + timeout
        while any(progress.stored(t) < n for t, n in wanted.items()):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"phase {phase.name!r} not stored within {timeout:.0f}s: "
                    f"{ {t: progress.stored(t) for t in INPUT_TOPICS} } of {dict(wanted)}"
                )
            if chaos is not None:
                chaos.maybe_strike(progress.total())
            time.sleep(0.02)
        time.sleep(pause)


@dataclass
class Outcome:
    """How a run compares with the undisturbed reference."""

    expected: int
    lost: int
    doubled: int
    extra: int  # messages that are no expected message at all


def compare(expected: list[str], got: list[str]) -> Outcome:
    want, have = Counter(expected), Counter(got)
    missing = want - have
    surplus = have - want
    doubled = sum(n for item, n in surplus.items() if item in want)
    return Outcome(len(expected), sum(missing.values()), doubled, sum(surplus.values()) - doubled)


def notice_key(alert: Alert) -> str:
    return alert.model_dump_json()


def kafka_alerts(bootstrap: str) -> list[str]:
    return [Alert.model_validate(a).model_dump_json() for a in read_json(bootstrap, ALERTS)]


def slack_texts(stub: SlackStub) -> list[str]:
    return [str(m["text"]) for m in stub.received]


def expected_slack_texts(notices: list[Alert]) -> list[str]:
    return [str(slack_message(a)["text"]) for a in notices]


def stored_history(client: redis.Redis, prefix: str, notices: list[Alert]) -> list[str]:
    """Every notice the worker committed to its alert history, as canonical JSON."""
    found: list[str] = []
    for fp in sorted({a.fingerprint for a in notices}):
        for raw in client.lrange(f"{prefix}alerts:history:{fp}", 0, -1):
            found.append(Alert.model_validate_json(raw).model_dump_json())
    return found


def differing_documents(client: redis.Redis, prefix: str, reference: Reference) -> list[str]:
    differing = []
    for key, document in reference.documents.items():
        raw = client.hget(f"{prefix}{key}", "d")
        if raw is None or json.loads(raw) != document:
            differing.append(key)
    return differing


def report(title: str, figures: dict[str, object]) -> str:
    width = max(len(k) for k in figures)
    lines = [f"== {title} =="] + [f"  {k.ljust(width)} : {v}" for k, v in figures.items()]
    text = "\n".join(lines)
    with FIGURES_FILE.open("a", encoding="utf-8") as fh:
        fh.write(time.strftime("%Y-%m-%d %H:%M:%S ") + text + "\n")
    return text
