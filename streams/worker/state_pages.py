"""The read-only state API on the worker's HTTP port (faust pages); the logic is in streams/views/state_api.py.

With `TRANCHEWATCH_API_TOKEN_FOR_READS` every state endpoint but the OpenAPI description needs the API's bearer
token (positions and exposures are sensitive); without it they are open, as /metrics is.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from redis.exceptions import RedisError

from alerts.ops.auth import BearerToken
from streams.state.reader import StateReader
from streams.views.state_api import BASE, ApiError, Reply, StateApi, openapi_document
from streams.worker.runtime import Runtime

JSON = "application/json"


def register_state_pages(app: faust.App, runtime: Runtime) -> None:
    api = StateApi(
        StateReader(runtime.redis, runtime.settings.redis_prefix), runtime.handler.rules.stale_quote
    )
    spec = json.dumps(openapi_document()).encode()
    settings = runtime.settings
    guard = BearerToken.optional(settings.api_token) if settings.api_token_for_reads else None

    async def respond(web: Any, request: Any, answer: Callable[[], Awaitable[Reply]]) -> Any:
        if guard is not None and not guard.accepts(dict(request.headers)):
            response = web.bytes(
                ApiError(error="missing or wrong bearer token").model_dump_json().encode(),
                content_type=JSON,
                status=401,
            )
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        try:
            reply = await answer()
        except (RedisError, OSError) as exc:
            reply = Reply(503, ApiError(error=f"state unavailable: {type(exc).__name__}"))
        return web.bytes(reply.json(), content_type=JSON, status=reply.status)

    # Explicit view names: faust keys views by name, and other modules register pages too.
    @app.page(f"{BASE}/tranches", name="state_tranches")
    async def tranches(web: Any, request: Any) -> Any:
        return await respond(web, request, lambda: api.tranches(request.query))

    @app.page(f"{BASE}/tranches/{{tranche_id}}", name="state_tranche")
    async def tranche(web: Any, request: Any, tranche_id: str) -> Any:
        return await respond(web, request, lambda: api.tranche(tranche_id))

    @app.page(f"{BASE}/issuers/{{issuer_id}}", name="state_issuer")
    async def issuer(web: Any, request: Any, issuer_id: str) -> Any:
        return await respond(web, request, lambda: api.issuer(issuer_id))

    @app.page(f"{BASE}/watchlist", name="state_watchlist")
    async def watch(web: Any, request: Any) -> Any:
        return await respond(web, request, lambda: api.watchlist(request.query))

    @app.page(f"{BASE}/exposures", name="state_exposures")
    async def exposed(web: Any, request: Any) -> Any:
        return await respond(web, request, lambda: api.exposures(request.query))

    @app.page(f"{BASE}/openapi.json", name="state_openapi")
    async def openapi(web: Any, request: Any) -> Any:
        return web.bytes(spec, content_type=JSON)
