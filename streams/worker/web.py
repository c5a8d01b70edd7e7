"""The two HTTP APIs on the worker's web port, both under /api/v1, through one adapter to faust's web server.

The APIs themselves are framework-free and answer with one type, `ApiResponse` (alerts/ops/api.py): the
alerts API (alerts/ops/api.py: alerts, silences, failures; every method) and the read-only state API
(streams/views/state_api.py: tranches, issuers, watchlist, OpenAPI). `respond` is the one place an answer
becomes a faust response. With `TRANCHEWATCH_API_TOKEN_FOR_READS` every state endpoint but the OpenAPI
description needs the API's bearer token (positions and exposures are sensitive); without it they are
open, as /metrics is.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.web import View
from pydantic import BaseModel
from redis.exceptions import RedisError

from alerts.ops.api import AlertsApi, ApiResponse
from alerts.ops.auth import BearerToken
from streams.state.reader import StateReader
from streams.views.state_api import BASE, ApiError, StateApi, openapi_document
from streams.worker.runtime import Runtime

JSON = "application/json"


def respond(view: Any, answer: ApiResponse) -> Any:
    """A pydantic body through its own serialiser, any other through faust's JSON."""
    if isinstance(answer.body, BaseModel):
        response = view.bytes(answer.body.model_dump_json().encode(), content_type=JSON, status=answer.status)
    else:
        response = view.json(answer.body, status=answer.status)
    for name, value in answer.headers:
        response.headers[name] = value
    return response


def register_api(app: faust.App, runtime: Runtime) -> None:
    api = AlertsApi(runtime.alerts, runtime.settings.api_token)

    class AlertsApiView(View):
        async def _dispatch(self, request: Any) -> Any:
            body = await request.read() if request.can_read_body else b""
            path = request.path.removeprefix(BASE)
            answer = await api.handle(request.method, path, dict(request.headers), body, dict(request.query))
            return respond(self, answer)

        async def get(self, request: Any, **kwargs: Any) -> Any:
            return await self._dispatch(request)

        async def post(self, request: Any, **kwargs: Any) -> Any:
            return await self._dispatch(request)

        async def delete(self, request: Any, **kwargs: Any) -> Any:
            return await self._dispatch(request)

    for resource in ("alerts", "silences", "failures"):
        view = type(f"Alerts{resource.title()}View", (AlertsApiView,), {})
        app.page(f"{BASE}/{resource}{{tail:(/.*)?}}", name=f"alerts_api_{resource}")(view)


def register_state_pages(app: faust.App, runtime: Runtime) -> None:
    api = StateApi(
        StateReader(runtime.redis, runtime.settings.redis_prefix),
        runtime.handler.rules.stale_quote,
        lambda: runtime.positions.current,
        runtime.market_scan,
    )
    spec = json.dumps(openapi_document()).encode()
    settings = runtime.settings
    guard = BearerToken.optional(settings.api_token) if settings.api_token_for_reads else None
    refused = ApiResponse(
        401, ApiError(error="missing or wrong bearer token"), (("WWW-Authenticate", "Bearer"),)
    )

    async def guarded(web: Any, request: Any, answer: Callable[[], Awaitable[ApiResponse]]) -> Any:
        if guard is not None and not guard.accepts(dict(request.headers)):
            return respond(web, refused)
        try:
            reply = await answer()
        except (RedisError, OSError) as exc:
            reply = ApiResponse(503, ApiError(error=f"state unavailable: {type(exc).__name__}"))
        return respond(web, reply)

    # Explicit view names: faust keys views by name, and other modules register pages too.
    @app.page(f"{BASE}/tranches", name="state_tranches")
    async def tranches(web: Any, request: Any) -> Any:
        return await guarded(web, request, lambda: api.tranches(request.query))

    @app.page(f"{BASE}/tranches/{{tranche_id}}", name="state_tranche")
    async def tranche(web: Any, request: Any, tranche_id: str) -> Any:
        return await guarded(web, request, lambda: api.tranche(tranche_id))

    @app.page(f"{BASE}/issuers/{{issuer_id}}", name="state_issuer")
    async def issuer(web: Any, request: Any, issuer_id: str) -> Any:
        return await guarded(web, request, lambda: api.issuer(issuer_id))

    @app.page(f"{BASE}/deals/{{deal_id}}", name="state_deal")
    async def deal(web: Any, request: Any, deal_id: str) -> Any:
        return await guarded(web, request, lambda: api.deal(deal_id))

    @app.page(f"{BASE}/watchlist", name="state_watchlist")
    async def watch(web: Any, request: Any) -> Any:
        return await guarded(web, request, lambda: api.watchlist(request.query))

    @app.page(f"{BASE}/exposures", name="state_exposures")
    async def exposed(web: Any, request: Any) -> Any:
        return await guarded(web, request, lambda: api.exposures(request.query))

    @app.page(f"{BASE}/openapi.json", name="state_openapi")
    async def openapi(web: Any, request: Any) -> Any:
        return web.bytes(spec, content_type=JSON)
