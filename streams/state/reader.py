"""Reads the state documents back from Redis for the watchlist and the read-only API. Never writes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis

from alerts.core.model import Alert
from streams.model.state import DealState, IssuerState, MarketState, TrancheState
from streams.state.snapshot import MARKET_KEY, deal_key, issuer_key, tranche_key
from streams.views.watchlist import MarketView

D = TypeVar("D", bound=BaseModel)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
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

    async def price_history(self, tranche_id: str, limit: int = 1000) -> list[tuple[dt.datetime, float]]:
        """The newest `limit` quotes of a tranche (late ones in their place), oldest first, in UTC."""
        rows: list[Any] = await self.redis.zrange(
            self.prefix + f"prices:{tranche_id}", -limit, -1, withscores=True
        )
        points = []
        for member, score in rows:
            text = member.decode() if isinstance(member, bytes) else str(member)
            points.append((_EPOCH + dt.timedelta(microseconds=int(score)), float(text.partition("|")[0])))
        return points

    async def firing_alerts(self) -> list[Alert]:
        """Every alert firing now, as the gauges find them: the active index, then each newest state."""
        active = await self.redis.hkeys(self.prefix + "alerts:active")
        if not active:
            return []
        rows = await self.redis.hmget(self.prefix + "alerts:latest", active)
        found = [Alert.model_validate_json(raw) for raw in rows if raw is not None]
        return [a for a in found if a.status == "firing"]

    async def alert_history(self, fingerprint: str) -> list[Alert]:
        """Every kept transition of one alert, oldest first."""
        rows = await self.redis.lrange(self.prefix + f"alerts:history:{fingerprint}", 0, -1)
        return [Alert.model_validate_json(raw) for raw in rows]

    async def view(self) -> MarketView:
        return MarketView(
            tranches=await self._all("tranche", TrancheState),
            issuers=await self._all("issuer", IssuerState),
            deals=await self._all("deal", DealState),
            clock=await self.clock(),
        )
