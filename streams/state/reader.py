"""Reads the state documents back from Redis for the watchlist and the read-only API. Never writes."""

from __future__ import annotations

import datetime as dt
import re
from typing import TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis

from streams.model.state import DealState, IssuerState, MarketState, TrancheState
from streams.state.snapshot import MARKET_KEY, deal_key, issuer_key, tranche_key
from streams.views.watchlist import MarketView

D = TypeVar("D", bound=BaseModel)
_GLOB = re.compile(r"([*?\[\]\\])")


class StateReader:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    async def _get(self, key: str, model: type[D]) -> D | None:
        raw = await self.redis.hget(self.prefix + key, "d")
        return model.model_validate_json(raw) if raw is not None else None

    async def _all(self, kind: str, model: type[D]) -> dict[str, D]:
        # SCAN, not KEYS: a market of thousands of tranches must not block Redis for the worker.
        pattern = _GLOB.sub(r"\\\1", self.prefix) + f"{kind}:*"
        keys = [key async for key in self.redis.scan_iter(match=pattern, count=1000)]
        if not keys:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.hget(key, "d")
        found: dict[str, D] = {}
        start = len(self.prefix) + len(kind) + 1
        for key, raw in zip(keys, await pipe.execute(), strict=True):
            if raw is not None:
                name = key.decode() if isinstance(key, bytes) else str(key)
                found[name[start:]] = model.model_validate_json(raw)
        return found

    async def tranche(self, tranche_id: str) -> TrancheState | None:
        return await self._get(tranche_key(tranche_id), TrancheState)

    async def issuer(self, issuer_id: str) -> IssuerState | None:
        return await self._get(issuer_key(issuer_id), IssuerState)

    async def deal(self, deal_id: str) -> DealState | None:
        return await self._get(deal_key(deal_id), DealState)

    async def market(self) -> MarketState:
        return await self._get(MARKET_KEY, MarketState) or MarketState()

    async def clock(self) -> dt.datetime | None:
        """stale_quote's event-time clock (streams/state/store.py writes it)."""
        at = await self.redis.hget(self.prefix + "clock", "at")
        return dt.datetime.fromisoformat(at.decode() if isinstance(at, bytes) else at) if at else None

    async def view(self) -> MarketView:
        return MarketView(
            tranches=await self._all("tranche", TrancheState),
            issuers=await self._all("issuer", IssuerState),
            deals=await self._all("deal", DealState),
            clock=await self.clock(),
        )
