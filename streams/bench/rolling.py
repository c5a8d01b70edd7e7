"""The soak's rolling market (`tranchewatch bench --only soak --soak-life-days N`): tranches mature all the time.

`tranches` are outstanding at any moment, in deals of four. Each deal slot is staggered over the life, so
some deal matures every few days; when it does, the next deal of the same slot is announced (five days
before it issues) and takes its place: over `days` of event time about `tranches x days / life` tranches are
issued, and all but the last generation mature and retire. The four tranches of a deal mature on the last
four days of its life (the deal retires with the last). Each tranche is quoted once a round until 16
days before its maturity (a quote settling on it would be refused); then stale_quote fires for it, and its
retirement resolves that. Prices follow the bench's profiles over each tranche's own life, so some slide
below par (and are still firing when they retire) and some dip and recover. Issuers are reused by every
generation of a slot, so their documents would grow with the deals ever issued if retirement did not
forget them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import orjson

from alerts.core.china import CHINA_TIME
from streams.bench.data import QUOTES_START, TRANCHES_PER_DEAL, Record, _price, _profile
from streams.kafka.topics import DEALS, QUOTES

# Quoted until this long before maturity: settlement may be 15 days on (Spring Festival), and a quote settling
# on or after the maturity is an after_maturity dead letter.
QUOTED_UNTIL = dt.timedelta(days=16)
ANNOUNCED = dt.timedelta(days=5)  # before issue


@dataclass(frozen=True, slots=True)
class _Deal:
    slot: int
    generation: int
    issue: dt.date
    maturity: dt.date  # of its last tranche; the others mature on the three days before

    @property
    def deal_id(self) -> str:
        return f"ROLL-D{self.slot:04d}-G{self.generation:03d}"

    def tranche_ids(self) -> list[str]:
        return [f"{self.deal_id}-{n}" for n in range(TRANCHES_PER_DEAL)]

    def maturity_of(self, n: int) -> dt.date:
        return self.maturity - dt.timedelta(days=TRANCHES_PER_DEAL - 1 - n)


def _deals(slots: int, life: int, days: float) -> list[_Deal]:
    start, end = QUOTES_START.date(), QUOTES_START.date() + dt.timedelta(days=days)
    out: list[_Deal] = []
    for slot in range(slots):
        # Generation 0 issued before the quotes start, so that every slot is outstanding from the first round.
        first = start - dt.timedelta(days=life) + dt.timedelta(days=1 + slot * (life - 1) // slots)
        generation = 0
        while first + dt.timedelta(days=generation * life) - ANNOUNCED <= end:
            issue = first + dt.timedelta(days=generation * life)
            out.append(_Deal(slot, generation, issue, issue + dt.timedelta(days=life)))
            generation += 1
    return out


def _deal_record(deal: _Deal, rng: random.Random) -> tuple[dt.datetime, Record]:
    announced = dt.datetime.combine(deal.issue - ANNOUNCED, dt.time(10), CHINA_TIME)
    value = {
        "event_id": f"d-{deal.deal_id}",
        "deal_id": deal.deal_id,
        "issuer_id": f"roll-issuer-{deal.slot // 2:04d}",
        "issuer_name": f"Rolling Issuer {deal.slot // 2}",
        "province": "Hubei",
        "announced_at": announced.isoformat(),
        "currency": "CNY",
        "asset_type": "transport_revenue",
        "tranches": [
            {
                "tranche_id": tranche_id,
                "face_value": rng.randrange(100, 1000) * 1_000_000,
                "coupon_pct": round(rng.uniform(2.0, 5.0), 2),
                "issue_date": deal.issue.isoformat(),
                "maturity_date": deal.maturity_of(n).isoformat(),
                "seniority": "senior" if n == 0 else "mezzanine",
            }
            for n, tranche_id in enumerate(deal.tranche_ids())
        ],
    }
    return announced, (DEALS, deal.deal_id.encode(), orjson.dumps(value))


def rolling_market(quotes: int, tranches: int, days: float, life_days: int, seed: int = 7) -> list[Record]:
    """Deals and quotes in event-time order, `quotes` quotes in all (the deals come on top)."""
    if tranches < TRANCHES_PER_DEAL or life_days < 30:
        raise ValueError("need at least 4 tranches and a life of 30 days")
    rng = random.Random(seed)
    slots = tranches // TRANCHES_PER_DEAL
    deals = _deals(slots, life_days, days)
    timed: list[tuple[dt.datetime, int, Record]] = []
    for deal in deals:
        at, record = _deal_record(deal, rng)
        timed.append((at, 0, record))
    rounds = max(1, -(-quotes // tranches))
    step = dt.timedelta(days=days) / rounds
    made = 0
    for r in range(rounds):
        when = QUOTES_START + r * step
        today = when.astimezone(CHINA_TIME).date()
        for deal in deals:
            if not deal.issue <= today < deal.maturity:
                continue
            for n, tranche_id in enumerate(deal.tranche_ids()):
                if today >= deal.maturity_of(n) - QUOTED_UNTIL or made >= quotes:
                    continue
                life = (today - deal.issue).days / (deal.maturity_of(n) - deal.issue).days
                price = _price(_profile(deal.slot * TRANCHES_PER_DEAL + n), life, rng.uniform(-0.15, 0.15))
                ts = when + dt.timedelta(seconds=(deal.slot * TRANCHES_PER_DEAL + n) % 3600)
                value = {"event_id": f"q-{r}-{tranche_id}", "tranche_id": tranche_id, "ts": ts.isoformat(),
                         "price": price, "source": "SSE"}  # fmt: skip
                timed.append((ts, 1, (QUOTES, tranche_id.encode(), orjson.dumps(value))))
                made += 1
    timed.sort(key=lambda t: (t[0], t[1]))
    return [record for _, _, record in timed]
