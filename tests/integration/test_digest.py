"""The daily digest: a receiver with digest_at gets one message a day listing its notices, once, also
across a restart of the sender."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from alerts.delivery.sender import Sender
from tests.integration.notify_support import build_sender, commit, make_alert, run_until
from tests.support.slack_stub import SlackStub

pytestmark = pytest.mark.integration
CHINA = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def sender_at(redis: Redis, prefix: str, routing: dict[str, Any], now: dt.datetime) -> Sender:
    """A freshly started sender (as after a worker restart) whose wall clock reads `now`."""
    sender, _ = build_sender(redis, prefix, routing, digest_check_seconds=0.05)
    sender.pipeline.clock = lambda: now
    return sender


async def test_notices_wait_for_the_digest_which_goes_once_a_day(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    routing = {
        "receivers": {"newsroom": {"type": "slack_webhook", "url": slack.url, "digest_at": "08:30"}},
        "routes": [{"receiver": "newsroom"}],
    }
    early = sender_at(redis, redis_prefix, routing, dt.datetime(2025, 9, 2, 7, 0, tzinfo=CHINA))
    await commit(
        redis, redis_prefix, make_alert("A"), make_alert("B"), make_alert("A", status="resolved", seq=2)
    )
    await run_until(early, lambda: True)
    assert slack.received == []  # held for the digest, not paged

    after = sender_at(redis, redis_prefix, routing, dt.datetime(2025, 9, 2, 8, 31, tzinfo=CHINA))
    await run_until(after, lambda: len(slack.received) == 1)
    text = slack.received[0]["text"]
    assert text.startswith("Daily digest 2025-09-02: 3 alert notices (2 firing, 1 resolved)")
    assert "A" in text and "B" in text

    again = sender_at(redis, redis_prefix, routing, dt.datetime(2025, 9, 2, 18, 0, tzinfo=CHINA))
    await commit(redis, redis_prefix, make_alert("C"))
    await run_until(again, lambda: True)
    assert len(slack.received) == 1  # once a day, whatever restarts; C waits for tomorrow

    tomorrow = sender_at(redis, redis_prefix, routing, dt.datetime(2025, 9, 3, 9, 0, tzinfo=CHINA))
    await run_until(tomorrow, lambda: len(slack.received) == 2)
    assert slack.received[1]["text"].startswith("Daily digest 2025-09-03: 1 alert notices (1 firing")
