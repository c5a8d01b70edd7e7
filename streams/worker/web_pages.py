"""The web page for people (`/`, `/tranche/{id}`, `/issuer/{id}`) on the worker's HTTP port; the rendering is
in streams/views/web_pages.py. GET only; with `TRANCHEWATCH_API_TOKEN_FOR_READS` every page needs the API
token (a bearer token, or the password of the browser's Basic sign-in prompt)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust
from redis.exceptions import RedisError

from streams.state.reader import StateReader
from streams.views.web_pages import Page, WebPages
from streams.worker.runtime import Runtime


def register_web_pages(app: faust.App, runtime: Runtime) -> None:
    settings = runtime.settings
    token = (
        settings.api_token.get_secret_value() if settings.api_token and settings.api_token_for_reads else None
    )
    reader = StateReader(runtime.redis, settings.redis_prefix, lambda: runtime.positions.current)
    pages = WebPages(reader, runtime.handler.rules, token, runtime.market_scan)

    async def respond(web: Any, request: Any, answer: Callable[[], Awaitable[Page]]) -> Any:
        if not pages.allows(dict(request.headers)):
            page = pages.refused()
        else:
            try:
                page = await answer()
            except (RedisError, OSError) as exc:
                page = pages.unavailable(
                    f"The state is unavailable ({type(exc).__name__}); try again shortly."
                )
        response = web.html(page.html, status=page.status)
        for name, value in page.headers:
            response.headers[name] = value
        # Read-only pages of live state: never cached, never framed by another site.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"
        )
        return response

    @app.page("/", name="web_watchlist")
    async def home(web: Any, request: Any) -> Any:
        return await respond(web, request, lambda: pages.watchlist(request.query))

    @app.page("/tranche/{tranche_id}", name="web_tranche")
    async def tranche(web: Any, request: Any, tranche_id: str) -> Any:
        return await respond(web, request, lambda: pages.tranche(tranche_id))

    @app.page("/deal/{deal_id}", name="web_deal")
    async def deal(web: Any, request: Any, deal_id: str) -> Any:
        return await respond(web, request, lambda: pages.deal(deal_id))

    @app.page("/issuer/{issuer_id}", name="web_issuer")
    async def issuer(web: Any, request: Any, issuer_id: str) -> Any:
        return await respond(web, request, lambda: pages.issuer(issuer_id))
