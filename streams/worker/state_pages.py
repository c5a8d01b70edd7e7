"""The read-only state API on the worker's HTTP port (faust pages); the logic is in streams/views/state_api.py."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

import faust
from redis.exceptions import RedisError

from streams.state.reader import StateReader
from streams.views.state_api import BASE, ApiError, Reply, StateApi, openapi_document
from streams.worker.runtime import Runtime

JSON = "application/json"


def register_state_pages(app: faust.App, runtime: Runtime) -> None:
    api = StateApi(
        StateReader(runtime.redis, runtime.settings.redis_prefix), runtime.handler.rules.stale_quote
    )
    spec = json.dumps(openapi_document()).encode()

    async def respond(web: Any, pending: Awaitable[Reply]) -> Any:
        try:
            reply = await pending
        except (RedisError, OSError) as exc:
            reply = Reply(503, ApiError(error=f"state unavailable: {type(exc).__name__}"))
        return web.bytes(reply.json(), content_type=JSON, status=reply.status)

    # Explicit view names: faust keys views by name, and other modules register pages too.
    @app.page(f"{BASE}/tranches", name="state_tranches")
    async def tranches(web: Any, request: Any) -> Any:
        return await respond(web, api.tranches(request.query))

    @app.page(f"{BASE}/tranches/{{tranche_id}}", name="state_tranche")
    async def tranche(web: Any, request: Any, tranche_id: str) -> Any:
        return await respond(web, api.tranche(tranche_id))

    @app.page(f"{BASE}/issuers/{{issuer_id}}", name="state_issuer")
    async def issuer(web: Any, request: Any, issuer_id: str) -> Any:
        return await respond(web, api.issuer(issuer_id))

    @app.page(f"{BASE}/watchlist", name="state_watchlist")
    async def watch(web: Any, request: Any) -> Any:
        return await respond(web, api.watchlist(request.query))

    @app.page(f"{BASE}/openapi.json", name="state_openapi")
    async def openapi(web: Any, request: Any) -> Any:
        return web.bytes(spec, content_type=JSON)
