"""The report renders: one HTML file that needs nothing from outside, its charts embedded and written as
PNGs, one per quoted tranche (with alerts first), per issuer with periods, and issuance per year."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from alerts.core.format import money
from streams.backtest.replay import run_backtest
from streams.backtest.report import quote_series
from streams.backtest.sources import read_jsonl
from streams.cli.main import main
from streams.demo.run import scenario_path
from streams.rules.registry import RulesConfig
from streams.views.exposures import exposures
from tests.support import credit_story

PNG = b"\x89PNG\r\n\x1a\n"


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.figures: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(named)
        if tag == "figure":
            self.figures.append(named["id"])
        if tag in ("script", "link", "iframe") or "href" in named:
            self.links.append(tag)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    other = out / "candidate.toml"
    other.write_text("[price_drop]\nenabled = false\n", encoding="utf-8")
    args = [
        "backtest",
        str(scenario_path()),
        "--rules",
        str(other),
        "--rules",
        str(other),
        "--report",
        str(out),
    ]
    assert main(args) == 0
    return out


def test_html_is_self_contained_with_every_chart_embedded(report: Path) -> None:
    parser = _Images()
    text = (report / "report.html").read_text(encoding="utf-8")
    parser.feed(text)
    assert parser.links == []  # nothing to fetch: it opens offline
    assert all(img["src"].startswith("data:image/png;base64,") for img in parser.images)
    for img, figure in zip(parser.images, parser.figures, strict=True):
        embedded = base64.b64decode(img["src"].split(",", 1)[1])
        assert embedded.startswith(PNG) and embedded == (report / f"{figure}.png").read_bytes()
    assert "Changes from candidate.toml to candidate.toml" in text and "No differences." in text


def test_the_right_charts(report: Path) -> None:
    parser = _Images()
    parser.feed((report / "report.html").read_text(encoding="utf-8"))
    quoted = set(quote_series(read_jsonl(scenario_path())))
    assert quoted == {
        "WHBUS-2025-A",
        "WHBUS-2025-B",
        "CQTOWER-2025-A",
        "CQTOWER-2025-B",
        "GZFLOOD-2025-A",
        "HZMETRO-2025-A",
        "HSTOWER-2025-A",
        "JSCOMM-2025-A",
    }
    tranche_figures = [f.removeprefix("tranche-") for f in parser.figures if f.startswith("tranche-")]
    assert set(tranche_figures) == quoted  # never-quoted tranches have no price to draw
    assert tranche_figures[0] == "CQTOWER-2025-A"  # the most alerted first (its stale episodes)
    assert {f for f in parser.figures if f.startswith("issuer-")} == {
        "issuer-wuhan-bus",
        "issuer-chongqing-cbd",
    }
    assert "issuance" in parser.figures
    alts = {img["alt"] for img in parser.images}
    assert "WHBUS-2025-A: price against par, bands and alerts" in alts
    assert sorted(p.name for p in report.glob("*.png")) == sorted(f"{f}.png" for f in parser.figures)


def test_quote_series_uses_the_workers_parser_and_drops_duplicates() -> None:
    series = quote_series(read_jsonl(scenario_path()))
    whbus = series["WHBUS-2025-A"]
    assert len(whbus) == 6 and whbus[0][1] == 100.1  # q-1 replayed and the invalid prices are not points
    # Prices per 100 of original face are drawn per 100 outstanding: no cliff on the payment date.
    hz = [round(p, 4) for _, p in series["HZMETRO-2025-A"]]
    assert hz == [100.0, 99.5, 99.4, 97.8, 96.8, 97.0, 96.6]
    assert [t for t, _ in whbus] == sorted(t for t, _ in whbus)


def test_the_report_lists_each_tranches_analytics(report: Path) -> None:
    text = (report / "report.html").read_text(encoding="utf-8")
    assert "Tranches at the end of the replay" in text
    section = text[text.index("Tranches at the end of the replay") :]
    row = section[section.index("<td>HZMETRO-2025-A</td>") :].split("</tr>")[0]
    cells = [c.removeprefix("<td>") for c in row.split("</td>") if c.startswith("<td>")]
    assert cells[:6] == ["HZMETRO-2025-A", "2025-12-10", "72.45", "original", "96.60", "0.75"]
    assert cells[6] == "225,000,000" and cells[-1] == "7,650,000"


def test_the_report_tables_the_exposures_as_the_api_serves_them(report: Path) -> None:
    text = (report / "report.html").read_text(encoding="utf-8")
    section = text[text.index("Exposures at the end of the replay") :]
    run = run_backtest(list(read_jsonl(scenario_path())), RulesConfig())
    for group_by in ("family", "province", "asset_type"):  # not portfolio: a backtest holds no positions
        assert f"<h3>By {group_by.replace('_', ' ')}</h3>" in section
    assert "<h3>By portfolio</h3>" not in section
    table = section.split("<h3>By province</h3>")[1].split("</table>")[0]
    for row in exposures(run.view(), "province").rows:
        cells = table.split(f"<tr><td>{row.key}</td>")[1].split("</tr>")[0]
        assert (
            f"<td>{money(row.outstanding_principal)}</td><td>{money(row.mark_to_market_loss)}</td>" in cells
        )


def test_the_report_lists_payments_collateral_and_ratings(tmp_path: Path) -> None:
    story = tmp_path / "story.jsonl"
    story.write_text("".join(json.dumps({"topic": t, "value": v}) + "\n" for t, v in credit_story.records()))
    assert main(["backtest", str(story), "--report", str(tmp_path / "out"), "--progress-every", "0"]) == 0
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    section = text.split("Payments, collateral and ratings at the end of the replay</h2>")[1].split("<h2>")[0]
    a_row = section.split("<td>BISHUI-24-A</td>")[1].split("</tr>")[0]
    assert "2024-07-15 short Rmb4.00mn, drawn Rmb4.00mn" in a_row
    assert "0.75x Q2 2024, reserve 25%, breached dscr_below_1_1" in a_row
    assert "CCXI AA- negative (from AA+); Dagong AA" in a_row
    assert "issuer: CCXI AA stable" in section.split("<td>BISHUI-24-B</td>")[1]
