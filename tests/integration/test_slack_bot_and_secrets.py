"""The bot-token receiver against a stand-in of Slack's Web API, and secrets kept out of every log line."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from alerts.ops.service import AlertsService
from tests.integration.notify_support import T0, build_sender, commit, make_alert, run_until
from tests.support.slack_stub import ScriptedReply, SlackStub

pytestmark = pytest.mark.integration
TOKEN = "xoxb-123-456-verysecretbottoken"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def bot_routing(slack: SlackStub, token: str = TOKEN) -> dict[str, object]:
    return {
        "receivers": {
            "ops": {
                "type": "slack_bot",
                "token": token,
                "channel": "C42",
                "base_url": slack.api_url,
                "min_interval_seconds": 0,
            }
        },
        "routes": [{"receiver": "ops"}],
    }


async def test_one_message_per_incident_updated_in_place_with_thread_replies(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    t1, t2 = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)
    await commit(
        redis,
        redis_prefix,
        make_alert("A", severity="warning"),
        make_alert("A", severity="critical", seq=2, event_time=t1),
        make_alert("A", status="resolved", seq=3, event_time=t2),
    )
    sender, _ = build_sender(redis, redis_prefix, bot_routing(slack))
    await run_until(sender, lambda: len(slack.api_calls) == 5)
    calls = [(c.method, c.args.get("thread_ts"), c.args.get("ts")) for c in slack.api_calls]
    parent = "1700000000.000001"
    assert calls == [
        ("chat.postMessage", None, None),
        ("chat.update", None, parent),
        ("chat.postMessage", parent, None),
        ("chat.update", None, parent),
        ("chat.postMessage", parent, None),
    ]
    assert all(c.authorization == f"Bearer {TOKEN}" and c.args["channel"] == "C42" for c in slack.api_calls)
    assert "RESOLVED" in slack.api_calls[3].args["text"]


async def test_bot_retries_ratelimits_and_records_channel_not_found(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    slack.api_replies.extend(
        [
            ScriptedReply(429, '{"ok": false, "error": "ratelimited"}', {"Retry-After": "1"}),
            ScriptedReply(200, '{"ok": false, "error": "channel_not_found"}'),
        ]
    )
    await commit(redis, redis_prefix, make_alert("A"), make_alert("B"))
    sender, metrics = build_sender(redis, redis_prefix, bot_routing(slack))
    await run_until(sender, lambda: len(slack.api_calls) == 1)
    # A: 429 then channel_not_found (permanent); B: posted.
    assert slack.api_calls[0].args["text"].count("B firing") == 1
    failures = await AlertsService(redis, redis_prefix).failures()
    assert len(failures) == 1 and "channel_not_found" in str(failures[0]["reason"])
    sample = metrics.registry.get_sample_value
    assert sample("tranchewatch_notifications_total", {"sink": "slack", "outcome": "retried"}) == 1


async def test_no_secret_in_any_log_line_or_failure(
    redis: Redis, redis_prefix: str, slack: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    """Every failure path, at DEBUG (slack-sdk logs request URLs there), with a token of no known shape."""
    caplog.set_level(logging.DEBUG)
    odd_token = "tw-secret-bot-token-9f8e7d"
    slack.script(
        ScriptedReply(500, "oops"),
        ScriptedReply(429, "slow down", {"Retry-After": "0"}),
        ScriptedReply(400, "invalid_payload"),
    )
    slack.api_replies.extend(
        [ScriptedReply(500, "{}"), ScriptedReply(200, '{"ok": false, "error": "invalid_auth"}')]
    )
    routing = {
        "receivers": {
            "desk": {"type": "slack_webhook", "url": slack.url, "min_interval_seconds": 0},
            "ops": {
                "type": "slack_bot",
                "token": odd_token,
                "channel": "C1",
                "base_url": slack.api_url,
                "min_interval_seconds": 0,
            },
        },
        "routes": [{"receiver": "desk", "continue": True}, {"receiver": "ops"}],
    }
    await commit(redis, redis_prefix, make_alert("A"), make_alert("B"))
    sender, _ = build_sender(redis, redis_prefix, routing)
    await run_until(sender, lambda: len(slack.received) == 1 and len(slack.api_calls) == 1)
    failures = str(await AlertsService(redis, redis_prefix).failures())
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "invalid_payload" in failures and "invalid_auth" in failures
    assert "/services/T000" in slack.url and "hooks-secret-token" in slack.url
    for secret in ("hooks-secret-token", "/services/T000", odd_token):
        assert secret not in logged, secret
        assert secret not in failures, secret
