"""Reads the state documents back from Redis for the watchlist and the read-only API. Never writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis

from alerts.core.model import Alert
from streams.model.positions import Positions
from streams.model.state import DealState, EntityState, IssuerState, MarketState, TrancheState
from streams.state.keys import MARKET_KEY, DocKey, Kind, StateKeys, deal_key, issuer_key, tranche_key
from streams.state.store import read_clock
from streams.views.watchlist import MarketView

D = TypeVar("D", bound=BaseModel)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PIPELINE = 1000


class StateReader:
    def __init__(
        self, redis: Redis, prefix: str, positions: Callable[[], Positions | None] = lambda: None
    ) -> None:
        self.redis = redis
        self.keys = StateKeys(prefix)
        # The holdings in force (the worker's, reloaded on SIGHUP), attached to every view it reads.
        self.positions = positions

    async def _get(self, key: str, model: type[D]) -> D | None:
        raw = await self.redis.hget(self.keys.doc(key), "d")
        return model.model_validate_json(raw) if raw is not None else None

    async def raw_documents(self, kind: Kind) -> dict[str, bytes]:
        """Every stored document of one kind, as its JSON, by id."""
        # SCAN, not KEYS: a market of thousands of tranches must not block Redis for the worker.
        names = [key async for key in self.redis.scan_iter(match=self.keys.doc_pattern(kind), count=1000)]
        if not names:
            return {}
        found: dict[str, bytes] = {}
        # In pipelines of a thousand: one of 15,000 would hold the whole reply (megabytes) and parse it in
        # one go, stalling the caller's event loop; a thousand at a time lets it run between them.
        for start in range(0, len(names), _PIPELINE):
            chunk = names[start : start + _PIPELINE]
            pipe = self.redis.pipeline(transaction=False)
            for name in chunk:
                pipe.hget(name, "d")
            for name, raw in zip(chunk, await pipe.execute(), strict=True):
                if raw is not None:
                    found[self.keys.doc_of(name.decode() if isinstance(name, bytes) else str(name)).ident] = (
                        raw
                    )
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
        return await read_clock(self.redis, self.keys)

    async def price_history(self, tranche_id: str, limit: int = 1000) -> list[tuple[dt.datetime, float]]:
        """The newest `limit` quotes of a tranche (late ones in their place), oldest first, in UTC."""
        rows: list[Any] = await self.redis.zrange(self.keys.prices(tranche_id), -limit, -1, withscores=True)
        points = []
        for member, score in rows:
            text = member.decode() if isinstance(member, bytes) else str(member)
            points.append((_EPOCH + dt.timedelta(microseconds=int(score)), float(text.partition("|")[0])))
        return points

    async def firing_alerts(self) -> list[Alert]:
        """Every alert firing now, as the gauges find them: the active index, then each newest state."""
        active = await self.redis.hkeys(self.keys.alerts.active)
        if not active:
            return []
        rows = await self.redis.hmget(self.keys.alerts.latest, active)
        found = [Alert.model_validate_json(raw) for raw in rows if raw is not None]
        return [a for a in found if a.status == "firing"]

    async def alert_history(self, fingerprint: str) -> list[Alert]:
        """Every kept transition of one alert, oldest first."""
        rows = await self.redis.lrange(self.keys.alerts.history(fingerprint), 0, -1)
        return [Alert.model_validate_json(raw) for raw in rows]

    async def _many(self, key: Callable[[str], DocKey], ids: Iterable[str], model: type[D]) -> dict[str, D]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        pipe = self.redis.pipeline(transaction=False)
        for ident in wanted:
            pipe.hget(self.keys.doc(key(ident)), "d")
        rows = await pipe.execute()
        return {
            i: model.model_validate_json(raw) for i, raw in zip(wanted, rows, strict=True) if raw is not None
        }

    async def view_of(
        self, tranche_ids: Iterable[str], issuer_ids: Iterable[str] = (), deal_ids: Iterable[str] = ()
    ) -> MarketView:
        """What a few rows are built from (an issuer's, a deal's): these tranches, their issuers and deals, the
        ones named, the clock and the positions; four round trips and a few documents, not the market."""
        tranches = await self._many(tranche_key, tranche_ids, TrancheState)
        issuers = [*issuer_ids, *(t.issuer_id for t in tranches.values() if t.issuer_id)]
        deals = [*deal_ids, *(t.deal_id for t in tranches.values() if t.deal_id)]
        return MarketView(
            tranches=tranches,
            issuers=await self._many(issuer_key, issuers, IssuerState),
            deals=await self._many(deal_key, deals, DealState),
            clock=await self.clock(),
            positions=self.positions(),
        )

    async def view(self) -> MarketView:
        return (await self.raw_view()).parse()

    async def raw_view(self) -> RawView:
        return RawView(
            tranches=await self.raw_documents("tranche"),
            issuers=await self.raw_documents("issuer"),
            deals=await self.raw_documents("deal"),
            clock=await self.clock(),
            entities=await self.raw_documents("entity"),
            positions=self.positions(),
        )


@dataclass(frozen=True)
class RawView:
    """A MarketView's documents as read, not yet parsed: parsing a market's tranches is CPU work (seconds at
    15,000 tranches), which a caller that must keep its event loop beating does in a thread."""

    tranches: dict[str, bytes]
    issuers: dict[str, bytes]
    deals: dict[str, bytes]
    clock: dt.datetime | None
    entities: dict[str, bytes]
    positions: Positions | None = None

    def parse(self) -> MarketView:
        return MarketView(
            tranches=_parsed(self.tranches, TrancheState),
            issuers=_parsed(self.issuers, IssuerState),
            deals=_parsed(self.deals, DealState),
            clock=self.clock,
            entities=_parsed(self.entities, EntityState),
            positions=self.positions,
        )


def _parsed(raw: dict[str, bytes], model: type[D]) -> dict[str, D]:
    return {ident: model.model_validate_json(doc) for ident, doc in raw.items()}
