"""The benchmark's market: deals, issuer financials and quotes, generated from a seed so every run and every
contender reads the same bytes.

The shape is chosen so that the alert set does not depend on how the three topics interleave: deals are
announced and financials reported (in event time) before the first quote, and every tranche stays near par
for the first `QUIET_SHARE` of the quote rounds, so whichever agent reads its topic first, no episode can
begin before the deals and reports are known. Then some tranches slide (below_par, price_drop, and
distressed_tranche when their issuer's loss widens), some dip and recover (fire, then resolve), the rest stay
quiet. Deals are split over two years so issuance_record fires once.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import orjson

from alerts.core.china import CHINA_TIME
from streams.kafka.topics import DEALS, FINANCIALS, QUOTES

QUOTES_START = dt.datetime(2025, 1, 2, 9, 30, tzinfo=CHINA_TIME)
ROUND_STEP = dt.timedelta(minutes=90)
QUIET_SHARE = 0.3
TRANCHES_PER_DEAL = 4
DEALS_PER_ISSUER = 2

Record = tuple[str, bytes, bytes]  # topic, key, value


@dataclass
class Dataset:
    tranches: int
    deals: list[Record] = field(default_factory=list)
    financials: list[Record] = field(default_factory=list)
    quotes: list[Record] = field(default_factory=list)

    @property
    def reference(self) -> list[Record]:
        return self.deals + self.financials

    @property
    def total(self) -> int:
        return len(self.deals) + len(self.financials) + len(self.quotes)

    def counts(self) -> dict[str, int]:
        return {DEALS: len(self.deals), FINANCIALS: len(self.financials), QUOTES: len(self.quotes)}


def _record(topic: str, key: str, value: dict[str, object]) -> Record:
    return (topic, key.encode(), orjson.dumps(value))


def _deal(rng: random.Random, index: int, issuer: int, tranche_ids: list[str]) -> Record:
    year = 2023 if index % 5 < 2 else 2024  # 40% then 60%: 2024 beats 2023 once
    announced = dt.datetime(year, 1 + index % 12, 1 + index % 27, 10, 0, tzinfo=CHINA_TIME)  # before Dec 30
    issue = announced.date() + dt.timedelta(days=5)
    tranches = [
        {
            "tranche_id": tranche_id,
            "face_value": rng.randrange(100, 1000) * 1_000_000,
            "coupon_pct": round(rng.uniform(2.0, 5.0), 2),
            "issue_date": issue.isoformat(),
            "maturity_date": issue.replace(year=issue.year + rng.randrange(3, 11)).isoformat(),
            "seniority": "senior" if n == 0 else "mezzanine",
        }
        for n, tranche_id in enumerate(tranche_ids)
    ]
    deal_id = f"BENCH-D{index:05d}"
    value = {
        "event_id": f"d-{index}",
        "deal_id": deal_id,
        "issuer_id": f"issuer-{issuer:05d}",
        "issuer_name": f"Bench Issuer {issuer}",
        "province": "Hubei",
        "city": "Wuhan",
        "announced_at": announced.isoformat(),
        "programme_id": f"PROG-{issuer:05d}",
        "programme_size": 4_000_000_000,
        "currency": "CNY",
        "asset_type": "transport_revenue",
        "tranches": tranches,
    }
    return _record(DEALS, deal_id, value)


def _financials(issuer: int) -> list[Record]:
    """Two periods per issuer: every fifth widens its loss 16x (critical), every tenth swings to a loss."""
    if issuer % 5 == 0:
        figures = (-50_000_000, -400_000_000)
    elif issuer % 10 == 1:
        figures = (120_000_000, -30_000_000)
    else:
        figures = (150_000_000, 90_000_000)
    # Reported after every deal's announcement, so issuing_into_weakness never depends on the read order.
    periods = (("2023-01-01", "2023-12-31", "2024-12-30"), ("2024-01-01", "2024-06-30", "2024-12-31"))
    out = []
    for n, ((start, end, reported), income) in enumerate(zip(periods, figures, strict=True)):
        issuer_id = f"issuer-{issuer:05d}"
        value = {
            "event_id": f"f-{issuer}-{n}",
            "issuer_id": issuer_id,
            "period_start": start,
            "period_end": end,
            "net_income": income,
            "revenue": 1_200_000_000,
            "currency": "CNY",
            "reported_at": f"{reported}T18:00:00+08:00",
        }
        out.append(_record(FINANCIALS, issuer_id, value))
    return out


def _price(profile: int, progress: float, noise: float) -> float:
    """Clean price of a tranche at `progress` (0..1) through the quote rounds, by profile."""
    if progress < QUIET_SHARE or profile >= 3:
        base = 103.0 if profile == 4 else 100.1
    elif profile == 1:  # slide to 93 by the end: below_par and price_drop warn then go critical
        base = 100.1 - 7.1 * (progress - QUIET_SHARE) / (1 - QUIET_SHARE)
    else:  # dip to 97 half way through the rest, back to par after: fire then resolve
        middle = (progress - QUIET_SHARE) / (1 - QUIET_SHARE)
        base = 100.1 - 3.1 * max(0.0, 1 - abs(middle - 0.4) / 0.3)
    return round(base + noise, 3)


def _profile(tranche: int) -> int:
    """1 slide (10%), 2 dip (5%), 3 quiet (80%), 4 premium (5%)."""
    slot = tranche % 20
    return 1 if slot in (3, 11) else 2 if slot == 7 else 4 if slot == 15 else 3


def generate(quotes: int, tranches: int, seed: int = 7, round_step: dt.timedelta = ROUND_STEP) -> Dataset:
    """`round_step`: time between quote rounds (90 minutes: a liquid market; days: thin paper)."""
    if tranches < TRANCHES_PER_DEAL or quotes < tranches:
        raise ValueError("need at least 4 tranches and one quote per tranche")
    rng = random.Random(seed)
    data = Dataset(tranches=tranches)
    ids = [f"BENCH-T{n:05d}" for n in range(tranches)]
    deal_count = (tranches + TRANCHES_PER_DEAL - 1) // TRANCHES_PER_DEAL
    issuers = (deal_count + DEALS_PER_ISSUER - 1) // DEALS_PER_ISSUER
    for index in range(deal_count):
        chunk = ids[index * TRANCHES_PER_DEAL : (index + 1) * TRANCHES_PER_DEAL]
        data.deals.append(_deal(rng, index, index // DEALS_PER_ISSUER, chunk))
    for issuer in range(issuers):
        data.financials.extend(_financials(issuer))
    rounds = (quotes + tranches - 1) // tranches
    order = list(range(tranches))
    for r in range(rounds):
        rng.shuffle(order)
        when = QUOTES_START + r * round_step
        for slot, tranche in enumerate(order):
            if len(data.quotes) == quotes:
                break
            ts = (when + dt.timedelta(seconds=slot % 3600)).isoformat()
            price = _price(_profile(tranche), r / rounds, rng.uniform(-0.15, 0.15))
            value = {
                "event_id": f"q-{r}-{tranche}",
                "tranche_id": ids[tranche],
                "ts": ts,
                "price": price,
                "bid": round(price - 0.05, 3),
                "ask": round(price + 0.05, 3),
                "source": "SSE",
            }
            data.quotes.append(_record(QUOTES, ids[tranche], value))
    return data
