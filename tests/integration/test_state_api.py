"""The watchlist command and the state API read the documents the worker writes to Redis (here: those a
backtest of the demo scenario leaves, written under the test's prefix as the commit script lays them out)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import redis
from redis.asyncio import Redis

from alerts.ops.api import ApiResponse
from streams.backtest.replay import run_backtest
from streams.backtest.sources import read_jsonl
from streams.cli.main import main
from streams.demo.run import scenario_path
from streams.rules.config import StaleQuoteConfig
from streams.rules.registry import RulesConfig
from streams.rules.stale_quote import micros
from streams.state.reader import StateReader
from streams.views.state_api import StateApi, openapi_document
from tests.conftest import REDIS_URL
from tests.support import credit_story

pytestmark = pytest.mark.integration


def _load(redis_client: redis.Redis, prefix: str, records: list[tuple[str, Any]]) -> None:
    run = run_backtest(records, RulesConfig())
    for key, (version, body) in run.store.documents.items():
        redis_client.hset(f"{prefix}{key}", mapping={"d": body, "v": version})
    clock = run.store.event_clock  # stale_quote's clock is kept beside the documents
    if clock is not None:
        redis_client.hset(f"{prefix}clock", mapping={"us": micros(clock), "at": clock.isoformat()})


@pytest.fixture
def loaded(redis_client: redis.Redis, redis_prefix: str) -> Iterator[str]:
    # The story up to the bus company's second deal (15 October; quotes up to mid-September), where these
    # expectations were taken: before its collateral reports, its downgrade and the December round.
    records = list(read_jsonl(scenario_path()))
    second_deal = next(
        i for i, (_, v) in enumerate(records) if isinstance(v, dict) and v.get("deal_id") == "WHBUS-2025-2"
    )
    _load(redis_client, redis_prefix, records[: second_deal + 1])
    # A key of another prefix that a careless scan would pick up.
    redis_client.hset(f"{redis_prefix}x:tranche:ALIEN", mapping={"d": b"{}", "v": 1})
    yield redis_prefix


def _call(prefix: str, method: str, *args: Any) -> ApiResponse:
    async def go() -> ApiResponse:
        client = Redis.from_url(REDIS_URL)
        try:
            api = StateApi(StateReader(client, prefix), StaleQuoteConfig())
            reply: ApiResponse = await getattr(api, method)(*args)
            return reply
        finally:
            await client.aclose()

    return asyncio.run(go())


def _check_schema(reply: ApiResponse, schema: str) -> dict[str, Any]:
    """The body as a client sees it, valid against the OpenAPI description's component."""
    document = openapi_document()
    body: dict[str, Any] = json.loads(reply.body.model_dump_json())
    resolver_root = {"components": document["components"], "$ref": f"#/components/schemas/{schema}"}
    jsonschema.validate(body, resolver_root, cls=jsonschema.Draft202012Validator)
    return body


def test_watchlist_endpoint_sorts_filters_and_matches_its_schema(loaded: str) -> None:
    reply = _call(loaded, "watchlist", {"sort": "mtm_loss", "province": "Chongqing"})
    body = _check_schema(reply, "Watchlist")
    assert reply.status == 200 and body["total"] == 2
    assert [r["tranche_id"] for r in body["rows"]] == ["CQTOWER-2025-B", "CQTOWER-2025-A"]
    assert body["clock"] == "2025-09-15T09:30:00+08:00" and body["stale_after_trading_days"] == 5
    everything = _call(loaded, "tranches", {})
    ids = [r["tranche_id"] for r in _check_schema(everything, "Watchlist")["rows"]]
    assert ids == sorted(ids) and len(ids) == 10 and "ALIEN" not in ids


def test_bad_query_parameters_are_400s(loaded: str) -> None:
    for params in ({"sort": "colour"}, {"limit": "lots"}, {"unknown": "1"}):
        reply = _call(loaded, "watchlist", params)
        assert reply.status == 400, params
        assert _check_schema(reply, "ApiError")["error"]


def test_tranche_and_issuer_endpoints(loaded: str) -> None:
    reply = _call(loaded, "tranche", "WHBUS-2025-A")
    body = _check_schema(reply, "TrancheDetail")
    assert body["row"]["stale"] is True and body["state"]["last_quote"]["price"] == 95.0
    rules = {a["rule"]: a["status"] for a in body["alerts"]}
    assert rules["below_par"] == "firing" and rules["stale_quote"] == "firing"
    issuer = _check_schema(_call(loaded, "issuer", "wuhan-bus"), "IssuerDetail")
    assert [p["days"] for p in issuer["periods"]] == [366, 181]
    assert issuer["periods"][1]["annualised"] == pytest.approx(-821e6 * 365 / 181)
    assert {t["tranche_id"] for t in issuer["tranches"]} == {"WHBUS-2025-A", "WHBUS-2025-B"}
    assert _call(loaded, "tranche", "NOPE").status == 404
    assert _call(loaded, "issuer", "nobody").status == 404


def test_openapi_document_is_valid_openapi_31() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/tranches",
        "/api/v1/tranches/{tranche_id}",
        "/api/v1/issuers/{issuer_id}",
        "/api/v1/deals/{deal_id}",
        "/api/v1/watchlist",
        "/api/v1/exposures",
    }
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)
    sort = next(p for p in document["paths"]["/api/v1/watchlist"]["get"]["parameters"] if p["name"] == "sort")
    assert "mtm_loss" in sort["schema"]["enum"]


def test_watchlist_command(
    loaded: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRANCHEWATCH_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("TRANCHEWATCH_REDIS_PREFIX", loaded)
    assert main(["watchlist", "--sort", "quote_age", "--stale"]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 tranches; market clock 2025-09-15 09:30+08:00; stale after 5 China trading days" in out
    lines = out.splitlines()
    assert lines[2].startswith("TRANCHE") and lines[4].startswith("CQTOWER-2025-B")
    assert "10 STALE" in lines[4] and "JSCOMM-2025-A" in lines[5] and "WHBUS-2025-A" in lines[6]
    # Both credit families of the story, summed from the entity records up to each government.
    assert main(["watchlist", "--group-by", "family", "--json"]) == 0
    families = {r["key"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert (families["hubei-gov"]["issuers"], families["hubei-gov"]["tranches"]) == (2, 3)
    assert (families["jiangsu-gov"]["issuers"], families["jiangsu-gov"]["tranches"]) == (2, 2)
    assert families["hubei-gov"]["firing"]["critical"] > 0 == families["jiangsu-gov"]["firing"]["critical"]
    assert main(["watchlist", "--issuer", "wuhan-bus", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["tranche_id"] for r in data["rows"]] == ["WHBUS-2025-A", "WHBUS-2025-B"]


def test_payments_collateral_and_ratings_through_the_api_and_the_command(
    redis_client: redis.Redis,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _load(redis_client, redis_prefix, credit_story.records())
    deal = _check_schema(_call(redis_prefix, "deal", "BISHUI-24"), "DealDetail")
    assert deal["deal"]["issuer_id"] == "bishui-bus"
    assert [(c["period"], c["coverage"]) for c in deal["coverage"]] == [("Q2 2024", 0.75), ("Q1 2024", 1.25)]
    assert deal["coverage"][0]["triggers_breached"] == ["dscr_below_1_1"]
    assert {a["rule"] for a in deal["alerts"]} == {
        "coverage_shortfall",
        "trigger_breach",
        "reserve_shortfall",
    }
    assert [t["tranche_id"] for t in deal["tranches"]] == ["BISHUI-24-A", "BISHUI-24-B"]
    assert _check_schema(_call(redis_prefix, "deal", "NOPE"), "ApiError")["error"] == "no deal 'NOPE'"
    row = _check_schema(_call(redis_prefix, "tranche", "BISHUI-24-A"), "TrancheDetail")["row"]
    assert row["last_distribution"]["shortfall"] == 4e6 and row["last_distribution"]["support_drawn"] == 4e6
    assert row["deal_coverage"]["coverage"] == 0.75
    assert [(r["agency"], r["rating"], r["reference_rating"]) for r in row["ratings"]] == [
        ("CCXI", "AA-", "AA+"),
        ("Dagong", "AA", "AA"),
    ]
    issuer = _check_schema(_call(redis_prefix, "issuer", "bishui-bus"), "IssuerDetail")
    assert [(r["agency"], r["rating"], r["outlook"]) for r in issuer["ratings"]] == [("CCXI", "AA", "stable")]

    monkeypatch.setenv("TRANCHEWATCH_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("TRANCHEWATCH_REDIS_PREFIX", redis_prefix)
    assert main(["watchlist", "--json"]) == 0
    rows = {r["tranche_id"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["BISHUI-24-A"]["last_distribution"]["payment_date"] == "2024-07-15"
    assert rows["BISHUI-24-B"]["issuer_ratings"][0]["rating"] == "AA"
