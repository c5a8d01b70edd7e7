"""The web page for people at `/` on the worker's port: the watchlist with its filters and sort order, the
firing alerts with their evidence, a page per tranche (its price history drawn as SVG, its distributions and
ratings), per issuer (its reported periods and ratings) and per deal (its servicer reports). Server-rendered with Jinja2, autoescaped, no JavaScript, read-only.

Framework-free like the state API (streams/views/state_api.py): each handler takes query parameters and
returns a Page (status, HTML, headers); streams/worker/web_pages.py only adapts it to faust's web server.
Every value shown comes from events, so nothing reaches the HTML unescaped: the templates never use
`|safe`, and ids in links are URL-quoted.
"""

from __future__ import annotations

import datetime as dt
import hmac
from base64 import b64decode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError

from alerts.core.model import SEVERITY_RANK, Alert
from streams.model.state import DealState, IssuerState, TrancheState
from streams.rules.issuer_loss_widening import period_key
from streams.rules.registry import RulesConfig
from streams.views import credit, web_format
from streams.views.exposures import GROUPS, exposures
from streams.views.price_chart import price_chart
from streams.views.scan import MarketScan, ViewDocuments
from streams.views.state_api import deal_detail, deal_tranche_ids
from streams.views.watchlist import MarketView, WatchQuery, WatchRow, build_row, watchlist

HISTORY_POINTS = 100_000  # at most what the state keeps (TRANCHEWATCH_PRICE_HISTORY_POINTS)
EXPOSURE_ROWS = 15  # per grouping on the page; the API has them all


class PageSource(Protocol):
    """What the pages read (streams/state/reader.py's StateReader; a fake in unit tests)."""

    async def raw_view(self) -> ViewDocuments: ...

    async def view_of(
        self, tranche_ids: Iterable[str], issuer_ids: Iterable[str] = (), deal_ids: Iterable[str] = ()
    ) -> MarketView: ...

    async def tranche(self, tranche_id: str) -> TrancheState | None: ...

    async def issuer(self, issuer_id: str) -> IssuerState | None: ...

    async def deal(self, deal_id: str) -> DealState | None: ...

    async def clock(self) -> dt.datetime | None: ...

    async def price_history(self, tranche_id: str, limit: int = 1000) -> list[tuple[dt.datetime, float]]: ...

    async def firing_alerts(self) -> list[Alert]: ...

    async def alert_history(self, fingerprint: str) -> list[Alert]: ...


@dataclass(frozen=True, slots=True)
class Page:
    status: int
    html: str
    headers: tuple[tuple[str, str], ...] = ()


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("streams.views", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = web_format.show
    env.filters["q"] = lambda value: quote(str(value), safe="")
    env.globals.update(
        cell=web_format.cell,
        sort_link=web_format.sort_link,
        sort_mark=web_format.sort_mark,
        page_link=web_format.page_link,
    )
    return env


class WebPages:
    def __init__(
        self, reader: PageSource, rules: RulesConfig, token: str | None = None, scan: MarketScan | None = None
    ) -> None:
        """`token`: when set, every page needs it, as a bearer token or as the password of HTTP Basic
        authentication (what a browser can send without JavaScript: it asks once and remembers).
        `scan`: the worker's one gate for reads of the whole market (streams/views/scan.py), shared with the
        API and the gauges; by default one of the pages' own that keeps no answers."""
        self.reader = reader
        self.scan = scan or MarketScan(reader)
        self.rules = rules
        self._token = token.encode() if token else None
        self.env = _environment()

    def allows(self, headers: Mapping[str, str]) -> bool:
        if self._token is None:
            return True
        given = next((v for k, v in headers.items() if k.lower() == "authorization"), "").strip()
        scheme, _, credential = given.partition(" ")
        secret = credential.strip()
        if scheme.lower() == "basic":
            try:
                secret = b64decode(secret, validate=True).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return False
        elif scheme.lower() != "bearer":
            return False
        return bool(secret) and hmac.compare_digest(secret.encode(), self._token)

    def refused(self) -> Page:
        html = self._render(
            "error.html", title="Sign in", status=401, message="This page needs the API token."
        )
        return Page(401, html, (("WWW-Authenticate", 'Basic realm="tranchewatch", charset="UTF-8"'),))

    def unavailable(self, reason: str) -> Page:
        return Page(503, self._render("error.html", title="Unavailable", status=503, message=reason))

    def _render(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    def _missing(self, what: str) -> Page:
        return Page(404, self._render("error.html", title="Not found", status=404, message=f"No {what}."))

    async def watchlist(self, params: Mapping[str, str]) -> Page:
        try:
            # A filter form sends its empty fields as "": those mean "any".
            query = WatchQuery.model_validate({k: v for k, v in params.items() if v != ""})
        except ValidationError as exc:
            parts = [
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
            ]
            return Page(
                400, self._render("error.html", title="Bad query", status=400, message="; ".join(parts))
            )
        # The page is computed and rendered in the scan's thread; the firing alerts are read first, on the
        # loop, and only when the page is not kept.
        return await self.scan.run_with(
            ("page", query.model_dump_json()),
            self.reader.firing_alerts,
            lambda view, alerts: self._watchlist_page(view, query, alerts),
        )

    def _watchlist_page(self, view: MarketView, query: WatchQuery, alerts: list[Alert]) -> Page:
        listing = watchlist(view, self.rules.stale_quote, query)
        firing = sorted(alerts, key=lambda a: (-SEVERITY_RANK[a.severity], a.starts_at))
        html = self._render(
            "watchlist.html",
            title="Watchlist",
            query=query,
            listing=listing,
            columns=web_format.columns(),
            firing=firing,
            names={i: s.issuer_name for i, s in view.issuers.items() if s.issuer_name},
            provinces=sorted({s.province for s in view.issuers.values() if s.province}),
            asset_types=sorted(
                {d.deal.asset_type for d in view.deals.values() if d.deal and d.deal.asset_type}
            ),
            # by portfolio only with positions configured: without them every tranche is in no portfolio
            exposure_groups=[e for g in GROUPS if (e := exposures(view, g)).rows or g != "portfolio"],
            exposure_rows=EXPOSURE_ROWS,
        )
        return Page(200, html)

    async def tranche(self, tranche_id: str) -> Page:
        tranche = await self.reader.tranche(tranche_id)
        if tranche is None:
            return self._missing(f"tranche {tranche_id!r}")
        view = MarketView(tranches={tranche_id: tranche}, clock=await self.reader.clock())
        issuer = await self.reader.issuer(tranche.issuer_id) if tranche.issuer_id else None
        if issuer is not None:
            view.issuers[issuer.issuer_id] = issuer
        deal = await self.reader.deal(tranche.deal_id) if tranche.deal_id else None
        if deal is not None and tranche.deal_id:
            view.deals[tranche.deal_id] = deal
        transitions = await self._transitions(tranche.alerts.values())
        history = await self.reader.price_history(tranche_id, HISTORY_POINTS)
        html = self._render(
            "tranche.html",
            title=tranche_id,
            tranche=tranche,
            issuer=issuer,
            deal=deal.deal if deal else None,
            row=build_row(view, tranche, self.rules.stale_quote),
            analytics={k: v for k, v in tranche.analytics.items() if k not in WatchRow.model_fields},
            columns=web_format.columns(),
            chart=price_chart(history, transitions, self.rules.below_par),
            below_par=self.rules.below_par,
            alerts=_most_pressing_first(tranche.alerts.values()),
            transitions=sorted(transitions, key=lambda a: a.event_time, reverse=True),
            distributions=credit.distributions(tranche),
            ratings=credit.agency_ratings(tranche.ratings),
        )
        return Page(200, html)

    async def deal(self, deal_id: str) -> Page:
        # A deal's and an issuer's pages read their own documents, not the market: no scan.
        deal = await self.reader.deal(deal_id)
        if deal is None:
            return self._missing(f"deal {deal_id!r}")
        issuers = [deal.deal.issuer_id] if deal.deal and deal.deal.issuer_id else []
        view = await self.reader.view_of(deal_tranche_ids(deal), issuers, [deal_id])
        detail = deal_detail(deal_id, deal, view, self.rules.stale_quote)
        issuer = view.issuers.get(deal.deal.issuer_id) if deal.deal else None
        html = self._render(
            "deal.html",
            title=deal_id,
            detail=detail,
            issuer=issuer,
            columns=web_format.columns(),
            alerts=_most_pressing_first(deal.alerts.values()),
        )
        return Page(200, html)

    async def issuer(self, issuer_id: str) -> Page:
        issuer = await self.reader.issuer(issuer_id)
        if issuer is None:
            return self._missing(f"issuer {issuer_id!r}")
        view = await self.reader.view_of(issuer.tranche_ids, [issuer_id], issuer.deal_ids)
        rows = [
            build_row(view, view.tranches[t], self.rules.stale_quote)
            for t in issuer.tranche_ids
            if t in view.tranches
        ]
        periods = sorted(issuer.periods.values(), key=period_key, reverse=True)
        html = self._render(
            "issuer.html",
            title=issuer.issuer_name or issuer.issuer_id,
            issuer=issuer,
            periods=periods,
            rows=rows,
            columns=web_format.columns(),
            alerts=_most_pressing_first(issuer.alerts.values()),
            ratings=credit.agency_ratings(issuer.ratings),
            deals={d: deal for d in issuer.deal_ids if d in view.deals and (deal := view.deals[d].deal)},
        )
        return Page(200, html)

    async def _transitions(self, alerts: Iterable[Alert]) -> list[Alert]:
        found: list[Alert] = []
        for alert in alerts:
            found += await self.reader.alert_history(alert.fingerprint)
        return found


def _most_pressing_first(alerts: Iterable[Alert]) -> list[Alert]:
    """Firing before resolved, then the most severe, then by rule."""
    return sorted(alerts, key=lambda a: (a.status != "firing", -SEVERITY_RANK[a.severity], a.rule))
