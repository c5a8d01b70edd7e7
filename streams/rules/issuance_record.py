"""issuance_record: more distinct deals announced in a calendar year than in any earlier year.

The year is that of `announced_at` in China time (UTC+8), the market's own calendar, so the same instant
counts in the same year whatever offset the producer wrote. A deal counts once, in the year it was first
announced. Earlier years are those seen on the stream and those of the configured baseline (for a year in
both, the larger count). Fires once per year, as info, the moment the count passes the best earlier year;
resolves when the stream's first deal of a later year shows the record year is over.

Deal ids are kept for the `keep_ids_years` newest years only, older years keep just their count: a deal
announced that long before the newest one is too late to count.
"""

from __future__ import annotations

from typing import Final

from alerts.core.china import CHINA_TIME
from alerts.core.model import KEEP, Fire, Resolve, Subject, Verdict
from streams.model.events import Deal
from streams.model.state import AlertBox, MarketState
from streams.rules.config import IssuanceRecordConfig
from streams.rules.spec import Judge, Rule

RULE: Final = "issuance_record"


def deal_year(deal: Deal) -> int:
    return deal.announced_at.astimezone(CHINA_TIME).year


def count_deal(market: MarketState, deal: Deal, keep_ids_years: int) -> bool:
    """Counts the deal and its face value in its year unless already counted or too late; True if the
    figures changed. Shared by issuance_record and issuance_value_record: whichever is judged first counts."""
    year = str(deal_year(deal))
    if year in market.deal_counts and year not in market.deals_by_year:
        return False  # a year whose ids were dropped is closed
    if any(deal.deal_id in ids for ids in market.deals_by_year.values()):
        return False
    ids = market.deals_by_year.setdefault(year, [])
    ids.append(deal.deal_id)
    market.deal_counts[year] = len(ids)
    if year in market.deal_values or len(ids) == 1:  # else counted before values were kept: unknown
        market.deal_values[year] = market.deal_values.get(year, 0.0) + deal_face_value(deal)
    _forget_old_ids(market, keep_ids_years)
    return True


def deal_face_value(deal: Deal) -> float:
    return sum(t.face_value for t in deal.tranches)


def _forget_old_ids(market: MarketState, keep_ids_years: int) -> None:
    kept = sorted(market.deals_by_year, key=int)[-keep_ids_years:]
    for year in [y for y in market.deals_by_year if y not in kept]:
        del market.deals_by_year[year]
        market.records.pop(year, None)


def best_earlier_year(market: MarketState, year: int, cfg: IssuanceRecordConfig) -> tuple[int, int] | None:
    """(year, count) of the busiest year before `year`, from the stream or the baseline."""
    counts = {y: c for y, c in cfg.baseline.items() if y < year}
    for y, c in market.deal_counts.items():
        if int(y) < year:
            counts[int(y)] = max(c, counts.get(int(y), 0))
    if not counts:
        return None
    return max(counts.items(), key=lambda item: (item[1], item[0]))


def evaluate(market: MarketState, year: int, cfg: IssuanceRecordConfig) -> Verdict:
    box = market.records.get(str(year))
    if box is not None and RULE in box.alerts:
        return KEEP  # once per year
    best = best_earlier_year(market, year, cfg)
    count = market.deal_counts.get(str(year), 0)
    if best is None or count <= best[1]:
        return KEEP
    best_year, best_count = best
    baseline = cfg.baseline.get(best_year)
    return Fire(
        "info",
        f"{count} ABS deals announced in {year}, a record: the best earlier year, {best_year}, "
        f"had {best_count}",
        {
            "year": year,
            "deals": count,
            "deal_ids": list(market.deals_by_year.get(str(year), [])),
            "best_earlier_year": best_year,
            "best_earlier_count": best_count,
            "best_from_baseline": baseline is not None and baseline == best_count,
            "calendar": "China time (UTC+8)",
        },
    )


def year_over(market: MarketState, year: int, newer_year: int) -> Verdict:
    count = market.deal_counts.get(str(year), 0)
    return Resolve(
        f"{year} is over with {count} ABS deals, the record; the stream has reached {newer_year}",
        {"year": year, "deals": count, "newer_year": newer_year},
    )


def _on_deal(judge: Judge, deal: Deal, cfg: IssuanceRecordConfig) -> None:
    market = judge.snap.market
    if count_deal(market, deal, cfg.keep_ids_years):
        judge.market_changed()
    year = deal_year(deal)
    for earlier in sorted(int(y) for y in market.records if int(y) < year):
        verdict = year_over(market, earlier, year)
        judge.market(market.records[str(earlier)], RULE, Subject(year=earlier), verdict, deal.announced_at)
    box = market.records.get(str(year), AlertBox())
    if judge.market(box, RULE, Subject(year=year), evaluate(market, year, cfg), deal.announced_at):
        market.records[str(year)] = box


SPEC = Rule(RULE, IssuanceRecordConfig, on_deal=_on_deal)
