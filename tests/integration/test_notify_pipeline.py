"""The notification pipeline on the real Redis with a stand-in Slack: nflog, silences, acks, inhibition,
grouping, recurring mutes, permanent failures."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from alerts.ops.service import AlertsService
from tests.integration.notify_support import T0, build_sender, commit, make_alert, run_until, webhook_routing
from tests.support.slack_stub import ScriptedReply, SlackStub

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


def texts(slack: SlackStub) -> list[str]:
    return [m["text"] for m in slack.received]


async def test_nflog_skips_what_was_sent_when_the_cursor_was_not_confirmed(
    redis: Redis, redis_prefix: str, slack: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="alerts.delivery.sender")
    await commit(redis, redis_prefix, make_alert("A"), make_alert("B"))
    sender, _ = build_sender(redis, redis_prefix, webhook_routing(slack.url))
    await run_until(sender, lambda: len(slack.received) == 2)
    # A crash after the sends and the nflog writes, before the cursor moved: the batch is read again.
    await redis.delete(f"{redis_prefix}outbox:cursor:desk")
    await commit(redis, redis_prefix, make_alert("C"))
    again, _ = build_sender(redis, redis_prefix, webhook_routing(slack.url))
    await run_until(again, lambda: len(slack.received) >= 3)
    assert len(slack.received) == 3 and "below_par C firing" in texts(slack)[2]
    assert "already sent before a restart; skipped" in caplog.text  # B (A was trimmed with the cursor)


async def test_silence_mutes_firing_but_not_resolved_and_expires(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    svc = AlertsService(redis, redis_prefix)
    silence = await svc.add_silence(
        ["tranche=A"], "ana", "known data issue", dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    )
    later = T0 + dt.timedelta(hours=1)
    await commit(
        redis,
        redis_prefix,
        make_alert("A"),
        make_alert("B"),
        make_alert("A", status="resolved", seq=2, event_time=later),
    )
    sender, metrics = build_sender(redis, redis_prefix, webhook_routing(slack.url))
    await run_until(sender, lambda: len(slack.received) == 2)
    assert ["B firing" in texts(slack)[0], "A resolved" in texts(slack)[1]] == [True, True]
    assert (
        metrics.registry.get_sample_value(
            "tranchewatch_notifications_total", {"sink": "slack", "outcome": "muted"}
        )
        == 1
    )
    await svc.expire_silence(silence.id)
    assert [s["state"] for s in await svc.list_silences(include_expired=True)] == ["expired"]
    await commit(redis, redis_prefix, make_alert("A", seq=3, starts_at=later + dt.timedelta(hours=1)))
    sender, _ = build_sender(redis, redis_prefix, webhook_routing(slack.url))
    await run_until(sender, lambda: len(slack.received) == 3)
    assert "A firing seq 3" in texts(slack)[2]


async def test_ack_mutes_the_incident_until_it_resolves(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    svc = AlertsService(redis, redis_prefix)
    await commit(redis, redis_prefix, make_alert("A", severity="warning"))
    fp = make_alert("A").fingerprint
    await svc.acknowledge(fp, "ana", "calling the issuer")
    assert (await svc.show(fp) or {})["state"] == "acknowledged"
    t1, t2, t3 = (T0 + dt.timedelta(hours=h) for h in (1, 2, 3))
    await commit(
        redis,
        redis_prefix,
        make_alert("A", severity="critical", seq=2, event_time=t1),  # escalation: muted by the ack
        make_alert("A", status="resolved", seq=3, event_time=t2),  # resolution: always sent
        make_alert("A", seq=4, starts_at=t3),  # a new incident: the old ack does not cover it
    )
    sender, _ = build_sender(redis, redis_prefix, webhook_routing(slack.url))
    await run_until(sender, lambda: len(slack.received) == 2)
    assert ["resolved seq 3" in texts(slack)[0], "firing seq 4" in texts(slack)[1]] == [True, True]
    shown = await svc.show(fp) or {}
    assert shown["state"] == "firing" and [h["seq"] for h in shown["history"]] == [1, 2, 3, 4]
    assert shown["acknowledgements"][0]["by"] == "ana"


async def test_distressed_tranche_inhibits_below_par_and_price_drop_of_that_tranche(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    before, at, after = T0, T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)
    await commit(
        redis,
        redis_prefix,
        make_alert("A", severity="warning", starts_at=before),  # heard before the distress began: sent
        make_alert("A", rule="distressed_tranche", starts_at=at),
        make_alert("A", seq=2, starts_at=before, event_time=after),  # escalation while distressed: muted
        make_alert("A", rule="price_drop", starts_at=after),  # muted
        make_alert("B", starts_at=after),  # another tranche: sent
    )
    routing = webhook_routing(slack.url)  # a routing file gets the default inhibition
    sender, _ = build_sender(redis, redis_prefix, routing)
    await run_until(sender, lambda: len(slack.received) == 3)
    assert [t.split("]")[1].split(":")[0].strip() for t in texts(slack)] == [
        "Below par",
        "Distressed tranche",
        "Below par",
    ]
    assert "B firing" in texts(slack)[2]
    history = await redis.lrange(
        f"{redis_prefix}alerts:history:{make_alert('A', rule='price_drop').fingerprint}", 0, -1
    )
    assert len(history) == 1  # muted, yet in the alert's history


async def test_a_storm_of_one_issuer_is_one_message(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    storm = [make_alert(f"W-{n}", issuer="wuhan-bus") for n in range(6)] + [
        make_alert("X-1", issuer="xian-metro")
    ]
    await commit(redis, redis_prefix, *storm)
    sender, metrics = build_sender(redis, redis_prefix, webhook_routing(slack.url, group_by=["issuer"]))
    await run_until(sender, lambda: len(slack.received) == 2)
    first, second = texts(slack)
    assert first.startswith("6 alert notices for issuer wuhan-bus") and all(
        f"W-{n}" in first for n in range(6)
    )
    assert "X-1" in second
    assert (
        metrics.registry.get_sample_value(
            "tranchewatch_notifications_total", {"sink": "slack", "outcome": "sent"}
        )
        == 7
    )


async def test_recurring_weekend_silence(redis: Redis, redis_prefix: str, slack: SlackStub) -> None:
    svc = AlertsService(redis, redis_prefix)
    await svc.add_silence(
        ["rule=below_par"],
        "ops",
        "no weekend pages",
        dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
        recurring="weekends",
    )
    saturday = dt.datetime(2025, 9, 6, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    await commit(redis, redis_prefix, make_alert("SAT", starts_at=saturday), make_alert("MON"))
    sender, _ = build_sender(redis, redis_prefix, webhook_routing(slack.url))
    await run_until(sender, lambda: len(slack.received) == 1)
    assert "MON" in texts(slack)[0]


async def test_permanent_failures_are_recorded_and_surfaced_not_retried(
    redis: Redis, redis_prefix: str, slack: SlackStub
) -> None:
    slack.script(ScriptedReply(404, "no_service"), ScriptedReply(400, "invalid_payload"))
    await commit(redis, redis_prefix, make_alert("A"), make_alert("B"), make_alert("C"))
    sender, metrics = build_sender(redis, redis_prefix, webhook_routing(slack.url))
    await run_until(sender, lambda: len(slack.received) == 1)
    assert slack.attempts == 3 and "C firing" in texts(slack)[0]
    failures = await AlertsService(redis, redis_prefix).failures()
    assert {str(f["reason"]).split(": ")[-1] for f in failures} == {"no_service", "invalid_payload"}
    assert {f["receiver"] for f in failures} == {"desk"}
    assert (
        metrics.registry.get_sample_value(
            "tranchewatch_notifications_total", {"sink": "slack", "outcome": "failed"}
        )
        == 2
    )
