"""`tranchewatch watchlist`: the live state in Redis as a table, or JSON for scripts."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, get_args

from pydantic import ValidationError
from redis.exceptions import RedisError

from alerts.core.format import money
from streams.cli.texttable import render as render_table
from streams.model.positions import PositionsError, read_positions
from streams.redis_client import async_redis
from streams.rules.registry import RulesConfig
from streams.settings import Settings, load_settings
from streams.state.reader import StateReader
from streams.views.credit import ratings_brief
from streams.views.exposures import GROUPS, Exposures, exposures, row_cells
from streams.views.watchlist import (
    Holding,
    MarketView,
    SortKey,
    Watchlist,
    WatchQuery,
    WatchRow,
    watchlist,
)


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "watchlist",
        help="tranches from the live state: discount, mark-to-market loss, issuer trend, quote age, last "
        "distribution, deal coverage, ratings, holdings",
        description="Reads TRANCHEWATCH_REDIS_URL / TRANCHEWATCH_REDIS_PREFIX; the stale threshold comes "
        "from the rules file (TRANCHEWATCH_RULES_FILE) or the contract's 5 trading days; holdings from "
        "TRANCHEWATCH_POSITIONS_FILE.",
    )
    p.add_argument("--sort", choices=get_args(SortKey), default="discount", help="default: discount")
    p.add_argument("--asc", action="store_true", help="smallest first (default: largest first)")
    p.add_argument("--issuer", help="issuer id, or part of its name")
    p.add_argument("--province")
    p.add_argument("--asset-type")
    p.add_argument("--stale", action="store_true", help="stale quotes only")
    p.add_argument("--portfolio", help="tranches this portfolio holds only (TRANCHEWATCH_POSITIONS_FILE)")
    p.add_argument("--limit", type=int, default=500)
    p.add_argument("--json", action="store_true", help="the rows as JSON")
    p.add_argument(
        "--group-by",
        choices=GROUPS,
        help="exposures instead of tranches: one row per credit family, province, asset type or portfolio "
        "(as GET /api/v1/exposures)",
    )
    p.set_defaults(func=cmd_watchlist)


async def _view(settings: Settings) -> MarketView:
    # The positions file the worker reads, read here too: the same file, so the same holdings (a worker
    # that refused an edited file on SIGHUP still holds the previous one; this command says why it refuses).
    positions = read_positions(settings.positions_file) if settings.positions_file else None
    redis = async_redis(settings, socket_timeout=10, socket_connect_timeout=5)
    try:
        view = await StateReader(redis, settings.redis_prefix).view()
    finally:
        await redis.aclose()
    view.positions = positions
    return view


async def _read(settings: Settings, query: WatchQuery, rules: RulesConfig) -> Watchlist:
    return watchlist(await _view(settings), rules.stale_quote, query)


def _grouped(args: argparse.Namespace) -> int:
    try:
        result = exposures(asyncio.run(_view(load_settings())), args.group_by)
    except (ValidationError, OSError, RedisError, PositionsError) as exc:
        sys.exit(f"tranchewatch watchlist: {exc}")
    print(result.model_dump_json(indent=2) if args.json else render_exposures(result))
    return 0


def cmd_watchlist(args: argparse.Namespace) -> int:
    if getattr(args, "group_by", None):
        return _grouped(args)
    settings = load_settings()
    try:
        rules = RulesConfig.load(settings.rules_file)
        query = WatchQuery(
            sort=args.sort,
            order="asc" if args.asc else "desc",
            issuer=args.issuer,
            province=args.province,
            asset_type=args.asset_type,
            stale=True if args.stale else None,
            portfolio=args.portfolio,
            limit=args.limit,
        )
        result = asyncio.run(_read(settings, query, rules))
    except (ValidationError, OSError, RedisError, PositionsError) as exc:
        sys.exit(f"tranchewatch watchlist: {exc}")
    print(result.model_dump_json(indent=2) if args.json else render(result))
    return 0


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def _cells(row: WatchRow) -> list[str]:
    cur = row.currency
    trend = row.issuer_loss_trend
    return [
        row.tranche_id,
        row.issuer_name or row.issuer_id or "-",
        row.province or "-",
        row.asset_type or "-",
        _num(row.clean_price),
        _num(row.discount),
        _num(row.factor, "{:.4g}"),
        "-" if row.outstanding_principal is None else money(row.outstanding_principal, cur),
        "-" if row.mark_to_market_loss is None else money(row.mark_to_market_loss, cur),
        _num(row.ytm_pct),
        _num(row.ytp_pct),
        _num(row.wal_years),
        row.last_quote_at.date().isoformat() if row.last_quote_at else "-",
        _num(row.quote_age_trading_days, "{:d}") + (" STALE" if row.stale else ""),
        "-" if trend is None else ("+" if trend > 0 else "") + money(trend, cur) + "/yr",
        row.last_distribution.brief() if row.last_distribution else "-",
        row.deal_coverage.brief() if row.deal_coverage else "-",
        _ratings(row),
        ",".join(row.alerts) or "-",
        _held(row.holdings, row.holding_face, cur),
    ]


def _ratings(row: WatchRow) -> str:
    """The tranche's own ratings; the issuer's, marked so, when the tranche has none."""
    if row.ratings:
        return ratings_brief(row.ratings)
    return f"issuer: {ratings_brief(row.issuer_ratings)}" if row.issuer_ratings else "-"


def _held(holdings: dict[str, float], total: float | None, currency: str) -> str:
    """`Rmb50mn fund-a, Rmb20mn fund-b`; `0` when listed at zero; `-` without positions."""
    if total is None:
        return "-"
    return ", ".join(f"{money(face, currency)} {p}" for p, face in holdings.items()) or "0"


HEADERS = [
    "TRANCHE",
    "ISSUER",
    "PROVINCE",
    "ASSET TYPE",
    "CLEAN",
    "DISC",
    "FACTOR",
    "OUTSTANDING",
    "MTM LOSS",
]
HEADERS += ["YTM%", "YTP%", "WAL", "LAST QUOTE"]
HEADERS += ["AGE (TD)", "LOSS TREND", "LAST PAYMENT", "COVERAGE", "RATINGS", "FIRING", "HELD"]


def _unknown(holdings: list[Holding]) -> str:
    if not holdings:
        return ""
    lines = [f"  {h.tranche_id}: {money(h.holding_face, 'CNY')} in {h.portfolio}" for h in holdings]
    return "\n\npositions on unknown tranches (kept; no deal describes them yet):\n" + "\n".join(lines)


def render(result: Watchlist) -> str:
    clock = result.clock.isoformat(sep=" ", timespec="minutes") if result.clock else "no quote yet"
    head = (
        f"{len(result.rows)} of {result.total} tranches; market clock {clock}; "
        f"stale after {result.stale_after_trading_days} China trading days"
    )
    table = render_table(HEADERS, [_cells(r) for r in result.rows])
    return head + "\n\n" + table + _unknown(result.unknown_tranches)


EXPOSURE_HEADERS = ["KEY", "ISSUERS", "TRANCHES", "FACE", "OUTSTANDING", "MTM LOSS", "HELD", "FIRING C/W/I"]


def render_exposures(result: Exposures) -> str:
    clock = result.clock.isoformat(sep=" ", timespec="minutes") if result.clock else "no quote yet"
    head = f"{len(result.rows)} groups by {result.group_by}; market clock {clock}"
    rows = [[r.key, *row_cells(r)] for r in result.rows]
    return head + "\n\n" + render_table(EXPOSURE_HEADERS, rows) + _unknown(result.unknown_tranches)
