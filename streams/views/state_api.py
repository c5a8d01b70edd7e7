"""The read-only HTTP API over the live state, without the web framework: handlers take query parameters
and return a status and a pydantic body, so tests call them directly and streams/worker/web.py only adapts
them to faust's web server. The OpenAPI description is generated from the same pydantic models.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema

from alerts.core.model import Alert
from alerts.core.validation import problems
from alerts.ops.api import ApiResponse
from streams.model.events import Deal
from streams.model.positions import Positions
from streams.model.state import DealState, IssuerState, TrancheState
from streams.rules.config import StaleQuoteConfig
from streams.rules.issuer_loss_widening import period_key
from streams.state.reader import StateReader
from streams.views.credit import AgencyRating, LastCoverage, agency_ratings, coverage_history
from streams.views.exposures import GROUPS, Exposures, exposures
from streams.views.scan import MarketScan, ViewSource
from streams.views.watchlist import MarketView, Watchlist, WatchQuery, WatchRow, build_row, watchlist

BASE = "/api/v1"


class ApiError(BaseModel):
    error: str


class PeriodView(BaseModel):
    period_start: dt.date
    period_end: dt.date
    days: int = Field(description="both ends counted")
    net_income: float
    annualised: float = Field(description="net_income x 365 / days")
    revenue: float | None = None
    currency: str
    reported_at: dt.datetime


class IssuerDetail(BaseModel):
    issuer_id: str
    issuer_name: str | None = None
    province: str | None = None
    city: str | None = None
    deal_ids: list[str]
    periods: list[PeriodView] = Field(description="oldest first")
    ratings: list[AgencyRating] = Field(
        default_factory=list, description="per agency (abs.ratings), by agency"
    )
    alerts: list[Alert] = Field(description="the newest state of each rule on this issuer")
    tranches: list[WatchRow]


class DealDetail(BaseModel):
    deal_id: str
    deal: Deal | None = Field(
        None, description="its announcement; none while only servicer reports were read"
    )
    coverage: list[LastCoverage] = Field(
        description="its servicer reports, newest period first: coverage, reserve, triggers breached"
    )
    alerts: list[Alert] = Field(description="the newest state of each rule on this deal")
    tranches: list[WatchRow]


class TrancheDetail(BaseModel):
    row: WatchRow
    state: TrancheState = Field(
        description="the state document, as the worker keeps it; `analytics` derived from its newest quote "
        "and terms when read"
    )
    alerts: list[Alert] = Field(description="the newest state of each rule on this tranche")


def _query(params: Mapping[str, str], **defaults: str) -> WatchQuery:
    return WatchQuery.model_validate({**defaults, **dict(params)})


def _bad_query(exc: ValidationError) -> ApiResponse:
    return ApiResponse(400, ApiError(error="; ".join(problems(exc))))


class StateApi:
    def __init__(
        self,
        reader: StateReader,
        cfg: StaleQuoteConfig,
        positions: Callable[[], Positions | None] = lambda: None,
        scan: MarketScan | None = None,
    ) -> None:
        """`scan`: the worker's one gate for reads of the whole market (streams/views/scan.py), shared with
        the web pages and the gauges; by default one of this API's own that keeps no answers."""
        self.reader = reader
        self.cfg = cfg
        # The holdings in force, asked for on every request: a SIGHUP reload shows at the next one.
        self.positions = positions
        source: ViewSource = reader
        self.scan = scan or MarketScan(source, positions)

    async def _list(self, params: Mapping[str, str], **defaults: str) -> ApiResponse:
        try:
            query = _query(params, **defaults)
        except ValidationError as exc:
            return _bad_query(exc)
        cfg = self.cfg
        # Keyed by the query as validated: /tranches and /watchlist asking the same share one answer.
        body = await self.scan.run(
            ("watchlist", query.model_dump_json()), lambda view: watchlist(view, cfg, query)
        )
        return ApiResponse(200, body)

    async def tranches(self, params: Mapping[str, str]) -> ApiResponse:
        """Every tranche, by id, with the watchlist's filters and paging."""
        return await self._list(params, sort="tranche", order="asc")

    async def watchlist(self, params: Mapping[str, str]) -> ApiResponse:
        return await self._list(params)

    async def exposures(self, params: Mapping[str, str]) -> ApiResponse:
        """The known tranches summed by family, province, asset type or portfolio (contract v2)."""
        unknown = sorted(set(params) - {"group_by"})
        group_by = params.get("group_by", "family")
        if unknown or group_by not in GROUPS:
            wrong = f"unknown parameter {unknown[0]!r}" if unknown else f"group_by {group_by!r}"
            return ApiResponse(400, ApiError(error=f"{wrong}: group_by is one of {', '.join(GROUPS)}"))
        body = await self.scan.run(("exposures", group_by), lambda view: exposures(view, group_by))
        return ApiResponse(200, body)

    async def tranche(self, tranche_id: str) -> ApiResponse:
        tranche = await self.reader.tranche(tranche_id)
        if tranche is None:
            return ApiResponse(404, ApiError(error=f"no tranche {tranche_id!r}"))
        view = MarketView(
            tranches={tranche_id: tranche}, clock=await self.reader.clock(), positions=self.positions()
        )
        if tranche.issuer_id and (issuer := await self.reader.issuer(tranche.issuer_id)):
            view.issuers[issuer.issuer_id] = issuer
        if tranche.deal_id and (deal := await self.reader.deal(tranche.deal_id)):
            view.deals[tranche.deal_id] = deal
        row = build_row(view, tranche, self.cfg)
        return ApiResponse(200, TrancheDetail(row=row, state=tranche, alerts=list(tranche.alerts.values())))

    async def issuer(self, issuer_id: str) -> ApiResponse:
        issuer = await self.reader.issuer(issuer_id)
        if issuer is None:
            return ApiResponse(404, ApiError(error=f"no issuer {issuer_id!r}"))
        # Its own documents only, not a scan of the market: a few rows parsed on the loop cost nothing.
        view = await self._view_of(issuer.tranche_ids, issuer_ids=[issuer_id])
        rows = [build_row(view, view.tranches[t], self.cfg) for t in issuer.tranche_ids if t in view.tranches]
        return ApiResponse(200, _issuer_detail(issuer, rows))

    async def deal(self, deal_id: str) -> ApiResponse:
        deal = await self.reader.deal(deal_id)
        if deal is None:
            return ApiResponse(404, ApiError(error=f"no deal {deal_id!r}"))
        view = await self._view_of(deal_tranche_ids(deal), deal_ids=[deal_id])
        return ApiResponse(200, deal_detail(deal_id, deal, view, self.cfg))

    async def _view_of(
        self, tranche_ids: list[str], issuer_ids: list[str] | None = None, deal_ids: list[str] | None = None
    ) -> MarketView:
        view = await self.reader.view_of(tranche_ids, issuer_ids or [], deal_ids or [])
        positions = self.positions()
        if positions is not None:  # else whatever the reader attached (StateReader's own positions)
            view.positions = positions
        return view


def deal_tranche_ids(deal: DealState) -> list[str]:
    return [t.tranche_id for t in deal.deal.tranches] if deal.deal else []


def deal_detail(deal_id: str, deal: DealState, view: MarketView, cfg: StaleQuoteConfig) -> DealDetail:
    """A deal's terms, coverage history, alerts and tranche rows (the API's body; the web page's too)."""
    rows = [build_row(view, view.tranches[t], cfg) for t in deal_tranche_ids(deal) if t in view.tranches]
    return DealDetail(
        deal_id=deal_id,
        deal=deal.deal,
        coverage=coverage_history(deal_id, deal),
        alerts=list(deal.alerts.values()),
        tranches=rows,
    )


def _issuer_detail(issuer: IssuerState, rows: list[WatchRow]) -> IssuerDetail:
    periods = [
        PeriodView(
            period_start=p.period_start,
            period_end=p.period_end,
            days=p.days,
            net_income=p.net_income,
            annualised=p.annualised,
            revenue=p.revenue,
            currency=p.currency,
            reported_at=p.reported_at,
        )
        for p in sorted(issuer.periods.values(), key=period_key)
    ]
    return IssuerDetail(
        issuer_id=issuer.issuer_id,
        issuer_name=issuer.issuer_name,
        province=issuer.province,
        city=issuer.city,
        deal_ids=issuer.deal_ids,
        periods=periods,
        ratings=agency_ratings(issuer.ratings),
        alerts=list(issuer.alerts.values()),
        tranches=rows,
    )


def _parameters() -> list[dict[str, Any]]:
    props = WatchQuery.model_json_schema()["properties"]
    return [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": schema.get("description", ""),
        }
        for name, schema in props.items()
    ]


def _op(summary: str, schema: str, params: list[dict[str, Any]], missing: bool = False) -> dict[str, Any]:
    def ref(name: str) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    responses: dict[str, Any] = {"200": {"description": "OK", **ref(schema)}}
    responses["400" if not missing else "404"] = {
        "description": "not found" if missing else "bad query parameter",
        **ref("ApiError"),
    }
    responses["503"] = {"description": "Redis unavailable", **ref("ApiError")}
    return {"get": {"summary": summary, "parameters": params, "responses": responses}}


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document() -> dict[str, Any]:
    models: list[type[BaseModel]] = [Watchlist, TrancheDetail, IssuerDetail, DealDetail, Exposures, ApiError]
    _, top = models_json_schema(
        [(m, "serialization") for m in models], ref_template="#/components/schemas/{model}"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tranchewatch state API",
            "version": "1",
            "description": "Read-only views of the live state. Quote ages are China trading days on the "
            "stream's event-time clock (the newest quote of any tranche), as stale_quote counts them.",
        },
        "paths": {
            f"{BASE}/tranches": _op("Every tranche, by id", "Watchlist", _parameters()),
            f"{BASE}/tranches/{{tranche_id}}": _op(
                "One tranche: its row, state and alerts", "TrancheDetail", [_path_param("tranche_id")], True
            ),
            f"{BASE}/issuers/{{issuer_id}}": _op(
                "One issuer: periods annualised, alerts, tranches",
                "IssuerDetail",
                [_path_param("issuer_id")],
                True,
            ),
            f"{BASE}/deals/{{deal_id}}": _op(
                "One deal: its terms, servicer reports (coverage, reserve, triggers), alerts, tranches",
                "DealDetail",
                [_path_param("deal_id")],
                True,
            ),
            f"{BASE}/watchlist": _op("Tranches sorted and filtered", "Watchlist", _parameters()),
            f"{BASE}/exposures": _op(
                "The known tranches summed by credit family, province, asset type or portfolio",
                "Exposures",
                [
                    {
                        "name": "group_by",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": list(GROUPS), "default": "family"},
                        "description": "family (the issuer's family root), province, asset_type or "
                        "portfolio (TRANCHEWATCH_POSITIONS_FILE; a tranche held by two counts in both)",
                    }
                ],
            ),
        },
        "components": {"schemas": top.get("$defs", {})},
    }
