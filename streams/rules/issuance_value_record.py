"""issuance_value_record: a larger sum of tranche face values announced in a calendar year than in any
earlier year.

issuance_record's twin on value instead of count: a year of many small deals can be a record by count while
only the highest in four by value, and a desk wants both views. Same calendar (the year of `announced_at` in
China time), same de-duplication (a deal counts once, in the year it was first announced, through the shared
`issuance_record.count_deal`), same lifecycle: info, once per year, the moment the year's value passes the
best earlier year's (stream or configured `baseline`, for a year in both the larger); resolved when the
stream's first deal of a later year shows the year is over. A year with no earlier value never fires.

Face values are summed as reported, in the deals' own currency units (CNY unless a deal says otherwise).
"""

from __future__ import annotations

from typing import Final

from alerts.core.format import money
from alerts.core.model import KEEP, Fire, Resolve, Subject, Verdict
from streams.model.events import Deal
from streams.model.state import AlertBox, MarketState
from streams.rules.config import IssuanceValueRecordConfig
from streams.rules.issuance_record import count_deal, deal_year
from streams.rules.spec import Judge, Rule

RULE: Final = "issuance_value_record"


def best_earlier_year(
    market: MarketState, year: int, cfg: IssuanceValueRecordConfig
) -> tuple[int, float] | None:
    """(year, face value) of the largest year before `year`, from the stream or the baseline."""
    values = {y: v for y, v in cfg.baseline.items() if y < year}
    for y, v in market.deal_values.items():
        if int(y) < year:
            values[int(y)] = max(v, values.get(int(y), 0.0))
    if not values:
        return None
    return max(values.items(), key=lambda item: (item[1], item[0]))


def evaluate(market: MarketState, year: int, cfg: IssuanceValueRecordConfig) -> Verdict:
    box = market.records.get(str(year))
    if box is not None and RULE in box.alerts:
        return KEEP  # once per year
    value = market.deal_values.get(str(year))
    best = best_earlier_year(market, year, cfg)
    if value is None or best is None or value <= best[1]:
        return KEEP
    best_year, best_value = best
    baseline = cfg.baseline.get(best_year)
    deals = market.deal_counts.get(str(year), 0)
    return Fire(
        "info",
        f"{money(value, 'CNY')} of ABS tranches announced in {year} ({deals} deals), a record by value: "
        f"the largest earlier year, {best_year}, had {money(best_value, 'CNY')}",
        {
            "year": year,
            "face_value": value,
            "deals": deals,
            "best_earlier_year": best_year,
            "best_earlier_face_value": best_value,
            "best_from_baseline": baseline is not None and baseline == best_value,
            "calendar": "China time (UTC+8)",
        },
    )


def year_over(market: MarketState, year: int, newer_year: int) -> Verdict:
    value = market.deal_values.get(str(year), 0.0)
    return Resolve(
        f"{year} is over with {money(value, 'CNY')} of ABS tranches, the record by value; the stream has "
        f"reached {newer_year}",
        {"year": year, "face_value": value, "newer_year": newer_year},
    )


def _on_deal(judge: Judge, deal: Deal, cfg: IssuanceValueRecordConfig) -> None:
    market = judge.snap.market
    if count_deal(market, deal, cfg.keep_ids_years):
        judge.market_changed()
    year = deal_year(deal)
    for earlier in sorted(int(y) for y in market.records if int(y) < year):
        box = market.records[str(earlier)]
        if RULE in box.alerts:
            judge.market(
                box, RULE, Subject(year=earlier), year_over(market, earlier, year), deal.announced_at
            )
    box = market.records.get(str(year), AlertBox())
    if judge.market(box, RULE, Subject(year=year), evaluate(market, year, cfg), deal.announced_at):
        market.records[str(year)] = box


SPEC = Rule(RULE, IssuanceValueRecordConfig, on_deal=_on_deal)
