"""The alerts API handlers on the real Redis, and the operator commands as users run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from alerts.ops.api import AlertsApi
from alerts.ops.service import AlertsService
from tests.integration.notify_support import commit, make_alert

pytestmark = pytest.mark.integration
AUTH = {"Authorization": "Bearer s3cret-api-token"}


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url("redis://127.0.0.1:6379/0")
    yield client
    await client.aclose()


async def test_token_guards_the_api(redis: Redis, redis_prefix: str) -> None:
    api = AlertsApi(AlertsService(redis, redis_prefix), SecretStr("s3cret-api-token"))
    assert (await api.handle("GET", "/alerts", {})).status == 401
    assert (await api.handle("GET", "/alerts", {"Authorization": "Bearer nope"})).status == 401
    assert (await api.handle("GET", "/alerts", {"authorization": "bearer s3cret-api-token"})).status == 200
    open_api = AlertsApi(AlertsService(redis, redis_prefix), None)
    assert (await open_api.handle("GET", "/silences", {})).status == 200
    refused = await open_api.handle("POST", "/silences", {}, b"{}")
    assert refused.status == 403 and "no API token" in refused.body["error"]


async def test_silences_acks_and_history_over_the_api(redis: Redis, redis_prefix: str) -> None:
    api = AlertsApi(AlertsService(redis, redis_prefix), SecretStr("s3cret-api-token"))
    body = {
        "matchers": ["issuer=wuhan-bus"],
        "created_by": "ana",
        "comment": "restructuring talks",
        "ends_at": "2099-01-01T00:00:00+08:00",
    }
    created = await api.handle("POST", "/silences", AUTH, json.dumps(body).encode())
    assert created.status == 201
    bad = await api.handle("POST", "/silences", AUTH, json.dumps({**body, "matchers": ["region=x"]}).encode())
    assert bad.status == 400 and "unknown label" in bad.body["error"]
    listed = await api.handle("GET", "/silences", AUTH)
    assert [s["id"] for s in listed.body] == [created.body["id"]]
    expired = await api.handle("DELETE", f"/silences/{created.body['id']}", AUTH)
    assert expired.status == 200 and (await api.handle("GET", "/silences", AUTH)).body == []

    alert = make_alert("A")
    await commit(redis, redis_prefix, alert)
    acked = await api.handle("POST", f"/alerts/{alert.fingerprint}/ack", AUTH, b'{"by": "ana"}')
    assert acked.status == 200
    assert (
        await api.handle("GET", "/alerts?state=acknowledged", AUTH, query={"state": "acknowledged"})
    ).body[0]["fingerprint"] == alert.fingerprint
    shown = await api.handle("GET", f"/alerts/{alert.fingerprint}", AUTH)
    assert shown.body["state"] == "acknowledged" and shown.body["history"][0]["evidence"] == {"price": 94.0}
    assert (await api.handle("GET", "/alerts/nope", AUTH)).status == 404
    await commit(redis, redis_prefix, make_alert("A", status="resolved", seq=2))
    again = await api.handle("POST", f"/alerts/{alert.fingerprint}/ack", AUTH, b'{"by": "ana"}')
    assert again.status == 409  # a resolved alert cannot be acknowledged
    assert (await api.handle("GET", f"/alerts/{alert.fingerprint}", AUTH)).body["state"] == "resolved"
    assert (await api.handle("GET", "/failures", AUTH)).body == []


def cli(prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TRANCHEWATCH_REDIS_PREFIX": prefix,
        "TRANCHEWATCH_REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_cli_silence_ack_and_alerts(redis: Redis, redis_prefix: str) -> None:
    added = cli(
        redis_prefix, "silence", "add", "-m", "rule=stale_quote", "-d", "2h", "-c", "feed down", "-a", "ops"
    )
    assert added.returncode == 0, added.stderr
    silence_id = json.loads(added.stdout)["id"]
    assert json.loads(cli(redis_prefix, "silence", "list").stdout)[0]["created_by"] == "ops"
    assert json.loads(cli(redis_prefix, "silence", "expire", silence_id).stdout)["id"] == silence_id
    assert json.loads(cli(redis_prefix, "silence", "list").stdout) == []
    refused = cli(redis_prefix, "silence", "add", "-m", "colour=red", "-d", "2h", "-c", "x")
    assert refused.returncode != 0 and "unknown label 'colour'" in refused.stderr

    alert = make_alert("A")
    await commit(redis, redis_prefix, alert)
    assert cli(redis_prefix, "ack", alert.fingerprint, "-a", "ana").returncode == 0
    listing = cli(redis_prefix, "alerts", "list").stdout
    assert alert.fingerprint in listing and "acknowledged" in listing
    shown = json.loads(cli(redis_prefix, "alerts", "show", alert.fingerprint).stdout)
    assert shown["acknowledged_by"] == "ana" and len(shown["history"]) == 1
    missing = cli(redis_prefix, "alerts", "show", "nope")
    assert missing.returncode != 0 and "no alert" in missing.stderr
    assert json.loads(cli(redis_prefix, "alerts", "failures").stdout) == []


def test_the_worker_serves_the_api_beside_the_state_api(worker_factory: Any) -> None:
    worker = worker_factory(
        TRANCHEWATCH_API_TOKEN="s3cret-api-token", TRANCHEWATCH_API_TOKEN_FOR_READS="true"
    )
    worker.wait_ready()
    base = f"http://127.0.0.1:{worker.port}/api/v1"
    body = json.dumps(
        {
            "matchers": ["rule=stale_quote"],
            "created_by": "ops",
            "comment": "feed",
            "ends_at": "2099-01-01T00:00:00+08:00",
        }
    ).encode()

    def call(
        method: str, path: str, data: bytes | None = None, auth: bool = True, headers: Any = None
    ) -> tuple[int, Any]:
        sent = headers if headers is not None else AUTH if auth else {}
        request = urllib.request.Request(base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert call("POST", "/silences", body, auth=False)[0] == 401
    assert call("POST", "/silences", body, headers={"Authorization": "Bearer "})[0] == 401
    status, created = call("POST", "/silences", body)
    assert status == 201, created
    assert [s["id"] for s in call("GET", "/silences")[1]] == [created["id"]]
    assert call("DELETE", f"/silences/{created['id']}")[0] == 200
    assert call("GET", "/alerts") == (200, [])
    assert call("GET", "/failures") == (200, [])
    # The state API is still there, and with TRANCHEWATCH_API_TOKEN_FOR_READS it needs the token too.
    assert worker.http("/api/v1/watchlist")[0] == 401
    assert call("GET", "/watchlist", headers={"Authorization": "Bearer "})[0] == 401
    assert call("GET", "/watchlist")[0] == 200
    assert worker.http("/api/v1/openapi.json")[0] == 200
