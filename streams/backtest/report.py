"""`backtest --report DIR`: one self-contained report.html (charts embedded as base64 PNG, no scripts, no
links out, so it opens offline and can be mailed) and the same charts as PNG files beside it.

Charts come from the first rules file's run: per quoted tranche (those with alerts first, at most
MAX_TRANCHES), per issuer with reported periods, and issuance per year against the record.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from alerts.core.model import Alert
from streams.ingest.parse import parse
from streams.model.analytics import factor_at
from streams.model.events import Deal, Distribution, Quote, TrancheTerms
from streams.model.schedule import settlement_date
from streams.rules.issuer_loss_widening import period_key
from streams.views import credit
from streams.views.exposures import GROUPS, exposures, row_cells

from . import charts
from .compare import Change
from .replay import BacktestRun
from .sources import Record
from .table import when
from .tranches import tranche_rows

MAX_TRANCHES = 40
STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f3f3f3}
.critical{color:#d62728;font-weight:bold}.warning{color:#b35806}.info{color:#4c78a8}
figure{margin:1.5em 0}img{max-width:100%}"""


def quote_series(records: Iterable[Record]) -> dict[str, list[tuple[dt.datetime, float]]]:
    """Each tranche's valid quotes in time order, parsed by the worker's parser, first of each event_id, as
    clean prices per 100 outstanding: a price per 100 of original face is divided by the factor at its
    settlement, from the terms and distribution reports in the records (as known at their end)."""
    seen: set[str] = set()
    quotes: list[Quote] = []
    terms: dict[str, TrancheTerms] = {}
    factors: dict[str, list[tuple[dt.date, float]]] = {}
    for topic, value in records:
        raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
        event = parse(topic, raw)
        if isinstance(event, Quote) and event.event_id not in seen:
            seen.add(event.event_id)
            quotes.append(event)
        elif isinstance(event, Deal):
            terms.update((t.tranche_id, t) for t in event.tranches)
        elif isinstance(event, Distribution) and event.factor_after is not None:
            factors.setdefault(event.tranche_id, []).append((event.payment_date, event.factor_after))
    series: dict[str, list[tuple[dt.datetime, float]]] = {}
    for quote in quotes:
        price = quote.price
        if quote.price_basis == "original":
            at = settlement_date(quote.ts)
            factor = factor_at(terms.get(quote.tranche_id), factors.get(quote.tranche_id, []), at).value
            price = price / factor if factor > 0 else price
        series.setdefault(quote.tranche_id, []).append((quote.ts, price))
    return {t: sorted(points) for t, points in series.items()}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _img(png: bytes, alt: str, ident: str) -> str:
    data = base64.b64encode(png).decode()
    return (
        f'<figure id="{html.escape(ident)}"><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(alt)}</figcaption></figure>"
    )


def _rows(headers: Sequence[str], rows: Iterable[Sequence[str]], classes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if i < len(classes) else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _alerts_html(notices: Sequence[Alert]) -> str:
    if not notices:
        return "<p>No alerts.</p>"
    rows = [[when(n.event_time), n.rule, n.severity, n.status, _subject(n), n.summary] for n in notices]
    headers = ["event time", "rule", "severity", "status", "subject", "evidence"]
    return _rows(headers, rows, [n.severity for n in notices])


TRANCHE_HEADERS = ["tranche", "settlement", "price", "basis", "clean", "factor", "outstanding", "accrued"]
TRANCHE_HEADERS += ["YTM %", "YTP %", "WAL (years)", "discount", "MTM loss"]


def _tranches_html(run: BacktestRun) -> str:
    """Per 100 of outstanding principal (contract: Analytics); a dash where a figure needs terms not known."""
    rows = tranche_rows(run.tranches())
    if not rows:
        return "<p>No tranche was quoted.</p>"

    def num(value: object, fmt: str = "{:.2f}") -> str:
        return "-" if value is None else fmt.format(value)

    table = [
        [
            tranche_id,
            str(r["settlement"]),
            num(r["price"]),
            str(r["price_basis"]),
            num(r["clean_price"]),
            num(r["factor"], "{:.4g}"),
            num(r["outstanding_principal"], "{:,.0f}"),
            num(r["accrued_interest"], "{:.4f}"),
            num(r["ytm_pct"], "{:.3f}"),
            num(r["ytp_pct"], "{:.3f}"),
            num(r["wal_years"]),
            num(r["discount"]),
            num(r["mark_to_market_loss"], "{:,.0f}"),
        ]
        for tranche_id, r in rows.items()
    ]
    return _rows(TRANCHE_HEADERS, table)


EXPOSURE_HEADERS = ["issuers", "tranches", "face", "outstanding", "MTM loss", "held", "firing C/W/I"]


def _exposures_html(run: BacktestRun) -> str:
    """GET /api/v1/exposures' rows of the final state, one table per grouping (streams/views/exposures.py)."""
    view = run.view()
    parts = []
    for group_by in GROUPS:
        result = exposures(view, group_by)
        if not result.rows:
            continue  # no known tranche yet, or (portfolio) no positions: a backtest has none
        table = [[r.key, *row_cells(r)] for r in result.rows]
        parts.append(f"<h3>By {html.escape(group_by.replace('_', ' '))}</h3>")
        parts.append(_rows([group_by.replace("_", " "), *EXPOSURE_HEADERS], table))
    return "\n".join(parts) or "<p>No known tranche.</p>"


def _credit_html(run: BacktestRun) -> str:
    """Each tranche's newest distribution, its deal's newest coverage and its ratings, in the watchlist's
    words (streams/views/credit.py); tranches with none of them are left out."""
    deals, issuers = run.deals(), run.issuers()
    table = []
    for tranche_id, t in sorted(run.tranches().items()):
        paid = credit.last_distribution(t)
        cover = credit.last_coverage(t.deal_id, deals.get(t.deal_id)) if t.deal_id else None
        rated = credit.ratings_brief(credit.agency_ratings(t.ratings))
        issuer = issuers.get(t.issuer_id) if t.issuer_id else None
        if not rated and issuer is not None and issuer.ratings:
            rated = "issuer: " + credit.ratings_brief(credit.agency_ratings(issuer.ratings))
        if paid or cover or rated:
            table.append(
                [tranche_id, paid.brief() if paid else "-", cover.brief() if cover else "-", rated or "-"]
            )
    if not table:
        return "<p>No distribution, servicer or rating report was read.</p>"
    return _rows(["tranche", "last distribution", "deal coverage", "ratings"], table)


def _subject(n: Alert) -> str:
    s = n.subject
    return s.tranche_id or s.deal_id or s.issuer_id or s.entity_id or str(s.year)


def _chosen_tranches(run: BacktestRun, series: dict[str, list[tuple[dt.datetime, float]]]) -> list[str]:
    alerted: dict[str, int] = {}
    for n in run.notices:
        if n.subject.tranche_id in series:
            alerted[n.subject.tranche_id] = alerted.get(n.subject.tranche_id, 0) + 1
    return sorted(series, key=lambda t: (-alerted.get(t, 0), t))[:MAX_TRANCHES]


def write_report(
    directory: Path, runs: Sequence[BacktestRun], changes: Sequence[Change], records: Iterable[Record]
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    run = runs[0]
    series = quote_series(records)
    figures: list[str] = []

    def add(png: bytes, filename: str, alt: str) -> None:
        (directory / filename).write_bytes(png)
        figures.append(_img(png, alt, filename.removesuffix(".png")))

    chosen = _chosen_tranches(run, series)
    for tranche_id in chosen:
        notices = [n for n in run.notices if n.subject.tranche_id == tranche_id]
        png = charts.tranche_chart(tranche_id, series[tranche_id], notices, run.rules.below_par)
        add(png, f"tranche-{_slug(tranche_id)}.png", f"{tranche_id}: price against par, bands and alerts")
    for issuer in run.issuers().values():
        if issuer.periods:
            periods = sorted(issuer.periods.values(), key=period_key)
            name = issuer.issuer_name or issuer.issuer_id
            png = charts.issuer_chart(name, periods)
            add(
                png,
                f"issuer-{_slug(issuer.issuer_id)}.png",
                f"{name} ({issuer.issuer_id}): net income by period",
            )
    market = run.market()
    if market.deal_counts or run.rules.issuance_record.baseline:
        counts = {int(y): n for y, n in market.deal_counts.items()}
        add(
            charts.issuance_chart(counts, dict(run.rules.issuance_record.baseline)),
            "issuance.png",
            "Issuance per year",
        )
    path = directory / "report.html"
    path.write_text(_page(runs, changes, figures, len(series) - len(chosen)), encoding="utf-8")
    return path


def _page(runs: Sequence[BacktestRun], changes: Sequence[Change], figures: list[str], omitted: int) -> str:
    run = runs[0]
    counts = "; ".join(
        f"{topic}: {row['processed']} processed, {row['invalid']} invalid, {row['duplicate']} duplicate"
        for topic, row in run.counts.items()
    )
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>tranchewatch backtest</title>"
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Backtest under {html.escape(run.label)}</h1><p>{html.escape(counts)}</p>",
        f"<h2>Alerts ({len(run.notices)} notices, {len(run.firing())} firing at the end)</h2>",
        _alerts_html(run.notices),
    ]
    if len(runs) == 2:
        parts.append(f"<h2>Changes from {html.escape(run.label)} to {html.escape(runs[1].label)}</h2>")
        rows = [[c.kind, c.rule, c.subject, c.detail] for c in changes]
        parts.append(
            _rows(["change", "rule", "subject", "detail"], rows) if rows else "<p>No differences.</p>"
        )
    parts.append("<h2>Tranches at the end of the replay</h2>")
    parts.append(_tranches_html(run))
    parts.append("<h2>Payments, collateral and ratings at the end of the replay</h2>")
    parts.append(_credit_html(run))
    parts.append("<h2>Exposures at the end of the replay</h2>")
    parts.append(
        "<p>Every known tranche once per grouping, money at the stream's clock "
        "(as <code>GET /api/v1/exposures</code>).</p>"
    )
    parts.append(_exposures_html(run))
    parts.append("<h2>Charts</h2>")
    if omitted > 0:
        parts.append(
            f"<p>{omitted} more quoted tranches without charts (the first {MAX_TRANCHES} are shown).</p>"
        )
    parts.extend(figures)
    parts.append("</body></html>")
    return "\n".join(parts)
