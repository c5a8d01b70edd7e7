"""The contract v2 topics of the generated market: who owns whom, trustee and servicer reports, ratings, and
a credit family that comes under stress and recovers.

What each part is for, in the order the scenario plays them (tests/reliability/scenario.py):
- `entities`: each issuer's owner (some re-parented, one stale record read after the newest, one cycle, some
  issuers without a record), always one issuer per family, so that family_stress never depends on which
  issuers' quotes a batch happens to hold; and the Hubei family of the story (province, city, district, three
  companies).
- `surveillance`: after the quotes, every tranche's distributions (paid in full; short, then cured; topped up
  by the shortfall undertaking; restated; read out of order), every deal's servicer reports (coverage
  dipping below 1.2x and 1.0x and back, hysteresis between 1.2x and 1.3x, breached triggers, reserve drawn,
  quarters read out of order, a restated quarter), ratings by two agencies (one notch, three notches, below
  A-, back up), a report for a deal announced only later, duplicates with different content and the bad
  messages the contract dead-letters. Each rule there reads its own key's reports and the quotes, all stored
  by then, so the result does not depend on how the broker interleaves the topics.
- `family_steps`: the story, one step per phase (a family's count moves at most once a batch, so that its
  warning, escalation and resolution are the same however the worker batches): a distribution paid short,
  the tower's collections below its debt service with a trigger breached, the water company downgraded below
  A-, then the cures in turn.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streams.kafka.topics import DISTRIBUTIONS, ENTITIES, RATINGS, SERVICER_REPORTS

CHINA = dt.timezone(dt.timedelta(hours=8))
BAD_PREFIX = "bad-"
Record = tuple[str, dict[str, Any]]


def stamp(day: dt.date, hour: int = 18) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=CHINA).isoformat()


@dataclass(frozen=True)
class DealTerms:
    """What the v2 reports need of a deal of the scenario."""

    deal_id: str
    issuer_id: str
    tranches: list[tuple[str, float, float]]  # tranche_id, face value, coupon %

    @classmethod
    def of(cls, deal: dict[str, Any]) -> DealTerms:
        return cls(
            deal["deal_id"],
            deal["issuer_id"],
            [(t["tranche_id"], t["face_value"], t["coupon_pct"]) for t in deal["tranches"]],
        )

    def debt_service(self) -> float:
        return round(sum(face * coupon / 100 / 4 for _, face, coupon in self.tranches))


# ---------------------------------------------------------------------------------------------- entities


def entity(event_id: str, entity_id: str, kind: str, parent: str | None, day: dt.date) -> dict[str, Any]:
    return {"event_id": event_id, "entity_id": entity_id, "name": entity_id.replace("-", " ").title(),
            "kind": kind, "parent_id": parent, "region": "Hubei", "updated_at": stamp(day, 9)}  # fmt: skip


FAMILY = ("fam-bus", "fam-tower", "fam-water")  # the story's issuers, each an entity of the Hubei family


def entities(rng: random.Random, issuers: list[str]) -> list[Record]:
    out: list[Record] = [
        (ENTITIES, entity("e-gov-hubei", "gov-hubei", "government", None, dt.date(2020, 1, 1))),
        (ENTITIES, entity("e-gov-wuhan", "gov-wuhan", "government", "gov-hubei", dt.date(2020, 1, 1))),
        (ENTITIES, entity("e-gov-hongshan", "gov-hongshan", "government", "gov-wuhan", dt.date(2020, 1, 1))),
        (ENTITIES, entity("e-fam-bus", "fam-bus", "lgfv", "gov-wuhan", dt.date(2021, 1, 1))),
        (ENTITIES, entity("e-fam-tower", "fam-tower", "lgfv", "gov-hongshan", dt.date(2021, 1, 1))),
        (ENTITIES, entity("e-fam-water", "fam-water", "soe", "gov-wuhan", dt.date(2021, 1, 1))),
    ]
    for n, issuer in enumerate(issuers):
        shape = rng.random()
        if shape < 0.15:
            continue  # no entity record: the issuer is its own root
        holding = f"holding-{n}"
        out.append((ENTITIES, entity(f"e-{holding}", holding, "soe", None, dt.date(2020, 6, 1))))
        out.append((ENTITIES, entity(f"e-{issuer}", issuer, "lgfv", holding, dt.date(2022, 1, 1))))
        if shape < 0.35:  # re-parented to a new holding, then an older record read late (changes nothing)
            moved = f"holding-{n}-b"
            out.append((ENTITIES, entity(f"e-{moved}", moved, "soe", None, dt.date(2023, 1, 1))))
            out.append((ENTITIES, entity(f"e-{issuer}-2", issuer, "lgfv", moved, dt.date(2024, 1, 1))))
            out.append((ENTITIES, entity(f"e-{issuer}-0", issuer, "private", "gone", dt.date(2019, 1, 1))))
        elif shape < 0.40:  # a cycle: the holding names the issuer as its parent; the chain stops before it
            out.append((ENTITIES, entity(f"e-{holding}-2", holding, "soe", issuer, dt.date(2024, 1, 1))))
    return out


# ------------------------------------------------------------------------------------------ distributions

PAYMENT_DATES = (dt.date(2025, 7, 15), dt.date(2025, 10, 15), dt.date(2026, 1, 15))


def distribution(
    event_id: str, tranche_id: str, day: dt.date, due: float, paid: float, support: float = 0.0, **extra: Any
) -> dict[str, Any]:
    return {"event_id": event_id, "tranche_id": tranche_id, "payment_date": day.isoformat(),
            "reported_at": stamp(day + dt.timedelta(days=1)), "interest_due": due, "interest_paid": paid,
            "principal_due": 0, "principal_paid": 0, "support_drawn": support, "currency": "CNY", **extra}  # fmt: skip


def distributions(
    rng: random.Random, tranche_id: str, face: float, coupon: float, short_at_the_end: bool = False
) -> list[Record]:
    """Three quarterly payment reports of one tranche, in one of the patterns a trustee reports."""
    due = round(face * coupon / 100 / 4)
    shape = 0.3 if short_at_the_end else rng.random()
    paid = [due, due, due]
    support = [0.0, 0.0, 0.0]
    if shape < 0.12:  # paid short in October (missed_payment), cured in January
        paid[1] = round(due * 0.6)
    elif shape < 0.24:  # topped up from the shortfall undertaking in October (support_drawn)
        support[1] = round(due * 0.4)
    elif shape < 0.32:  # short in January, topped up in part: both still firing at the end
        paid[2], support[2] = round(due * 0.5), round(due * 0.3)
    out = [
        (DISTRIBUTIONS, distribution(f"p-{tranche_id}-{k}", tranche_id, day, due, paid[k], support[k]))
        for k, day in enumerate(PAYMENT_DATES)
    ]
    if 0.32 <= shape < 0.40:  # October first reported short, then restated paid in full
        short = distribution(f"p-{tranche_id}-1r", tranche_id, PAYMENT_DATES[1], due, round(due * 0.7))
        short["reported_at"] = stamp(PAYMENT_DATES[1], 9)
        out.insert(1, (DISTRIBUTIONS, short))
    elif 0.40 <= shape < 0.46:  # amortising: 5% repaid in January, the factor stated
        last = out[-1][1]
        last.update(principal_due=round(face * 0.05), principal_paid=round(face * 0.05), factor_after=0.95)
    if rng.random() < 0.15:  # the trustee's reports read out of order: the newest date still wins
        out[-1], out[-2] = out[-2], out[-1]
    return out


# ---------------------------------------------------------------------------------------- servicer reports

QUARTERS = (
    (dt.date(2025, 4, 1), dt.date(2025, 6, 30)),
    (dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
    (dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
)
COVERAGES = {  # collections / debt service, quarter by quarter
    "healthy": (1.5, 1.45, 1.6),
    "dip and recover": (1.4, 1.05, 1.35),  # warning, trigger breached, resolved
    "collapse": (1.3, 0.8, 0.75),  # critical from Q3, still at the end
    "hover": (1.25, 1.15, 1.25),  # warning at Q3, held at 1.25 (between 1.2 and 1.3)
}


def servicer_report(
    event_id: str, deal_id: str, quarter: int, debt: float, coverage: float, reserve_pct: float = 1.0
) -> dict[str, Any]:
    start, end = QUARTERS[quarter]
    required = round(debt * 0.5)
    return {"event_id": event_id, "deal_id": deal_id, "period_start": start.isoformat(),
            "period_end": end.isoformat(), "reported_at": stamp(end + dt.timedelta(days=20)),
            "collections": round(debt * coverage), "debt_service_due": debt,
            "reserve_balance": round(required * reserve_pct), "reserve_required": required,
            "delinquency_pct": round(max(0.0, 3.0 - coverage * 1.5), 2), "default_pct": 0.1,
            "triggers": [{"name": "dscr_below_1_1", "breached": coverage < 1.1}], "currency": "CNY"}  # fmt: skip


def servicer_reports(rng: random.Random, deal: DealTerms) -> list[Record]:
    debt = deal.debt_service()
    coverage = COVERAGES[rng.choice([*COVERAGES, "healthy", "healthy"])]
    reserve = (1.0, 0.4, 1.0) if rng.random() < 0.2 else (1.0, 1.0, 1.0)  # drawn in Q3, replenished
    out = [
        (SERVICER_REPORTS, servicer_report(f"s-{deal.deal_id}-{q}", deal.deal_id, q, debt, coverage[q],
                                           reserve[q]))
        for q in range(3)
    ]  # fmt: skip
    if rng.random() < 0.15:  # Q3 restated ten days later with lower collections
        again = servicer_report(f"s-{deal.deal_id}-1r", deal.deal_id, 1, debt, coverage[1] - 0.2)
        again["reported_at"] = stamp(QUARTERS[1][1] + dt.timedelta(days=30))
        out.insert(2, (SERVICER_REPORTS, again))
    if rng.random() < 0.15:  # Q4 read before Q3: the newest period still wins
        out[-1], out[-2] = out[-2], out[-1]
    return out


# ----------------------------------------------------------------------------------------------- ratings

RATING_PATHS = {  # CCXI's reference, then its later ratings
    "affirmed": ("AA+", "AA+"),
    "one notch, restored": ("AA+", "AA", "AA+"),  # warning, resolved
    "three notches": ("AA+", "A+"),  # critical
    "below A-": ("AA", "A", "BBB+"),  # warning, then critical
}


def rating(event_id: str, subject: dict[str, str], agency: str, grade: str, day: dt.date) -> dict[str, Any]:
    outlook = "stable" if grade.startswith("AA") else "negative"
    return {"event_id": event_id, **subject, "agency": agency, "rating": grade, "outlook": outlook,
            "ts": stamp(day, 17)}  # fmt: skip


def ratings(rng: random.Random, subject: dict[str, str], suffix: str) -> list[Record]:
    name = next(iter(subject.values()))
    path = RATING_PATHS[rng.choice(list(RATING_PATHS))]
    days = [dt.date(2025, 3, 1) + dt.timedelta(days=75 * k) for k in range(len(path))]
    out = [
        (RATINGS, rating(f"r-{name}-ccxi-{k}", subject, "CCXI", grade + suffix, day))
        for k, (grade, day) in enumerate(zip(path, days, strict=True))
    ]
    if rng.random() < 0.5:  # a second agency, stable: compared with itself only
        out.append((RATINGS, rating(f"r-{name}-dagong-0", subject, "Dagong", "AA" + suffix, days[0])))
        out.append((RATINGS, rating(f"r-{name}-dagong-1", subject, "Dagong", "AA" + suffix, days[-1])))
    if rng.random() < 0.15:  # the latest read first: compared by ts, not by arrival
        out.reverse()
    return out


# ------------------------------------------------------------------------------------------ bad messages

_P = distribution("", "T", PAYMENT_DATES[0], 1e6, 1e6)
_S = servicer_report("", "D", 0, 1e6, 1.5)
_R = rating("", {"tranche_id": "T"}, "CCXI", "AA", dt.date(2025, 5, 1))
BAD: list[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    # (what is wrong, topic, a valid record of that topic -> the bad message on the same key)
    ("negative amount", DISTRIBUTIONS, lambda v: {**_P, "tranche_id": v["tranche_id"], "interest_paid": -5e5}),
    ("factor outside [0, 1]", DISTRIBUTIONS, lambda v: {**_P, "tranche_id": v["tranche_id"], "factor_after": 1.2}),
    ("period ending before it starts", SERVICER_REPORTS,
     lambda v: {**_S, "deal_id": v["deal_id"], "period_end": "2025-03-31"}),
    ("negative collections", SERVICER_REPORTS, lambda v: {**_S, "deal_id": v["deal_id"], "collections": -1.0}),
    ("both tranche_id and issuer_id", RATINGS, lambda v: {**_R, "issuer_id": "I"}),
    ("neither tranche_id nor issuer_id", RATINGS, lambda v: {k: x for k, x in _R.items() if k != "tranche_id"}),
    ("rating off the scale", RATINGS, lambda v: {**v, "rating": "AAA+"}),
    ("entity its own parent", ENTITIES, lambda v: {**v, "parent_id": v["entity_id"]}),
    ("unknown kind", ENTITIES, lambda v: {**v, "kind": "bank"}),
]  # fmt: skip


def insert_bad(rng: random.Random, records: list[Record], per_kind: int, label: str) -> int:
    """Inserts `per_kind` bad messages of each kind whose topic `records` carries, each after a valid record
    of that topic (so that its partition has work around it). Returns how many it inserted."""
    inserted = 0
    for k, (_, topic, make) in enumerate(BAD):
        places = [
            i for i, (t, v) in enumerate(records) if t == topic and not v["event_id"].startswith(BAD_PREFIX)
        ]
        for n in range(per_kind if places else 0):
            at = rng.choice(places)
            records.insert(
                at + 1, (topic, {**make(records[at][1]), "event_id": f"{BAD_PREFIX}{label}-{k}-{n}"})
            )
            places = [i + (i > at) for i in places]
            inserted += 1
    return inserted


def duplicate(value: dict[str, Any]) -> dict[str, Any]:
    """The same event id with different content: must change nothing."""
    changed = dict(value)
    for field, worse in (("interest_paid", 0), ("collections", 0), ("rating", "C"), ("parent_id", None)):
        if field in changed:
            changed[field] = worse
    return changed


# ---------------------------------------------------------------------------------------------- the plan


def surveillance(
    rng: random.Random, deals: list[DealTerms], late: list[DealTerms], bad_per_kind: int
) -> list[Record]:
    """The reports of the market's deals, interleaved across keys (each key's own order kept), with a
    report for a deal announced only later and `bad_per_kind` bad messages of each kind (BAD)."""
    by_key: list[list[Record]] = []
    joining = joiner(deals)
    for deal in deals:
        if deal.issuer_id in FAMILY:
            continue  # the story's reports come step by step (family_steps)
        by_key.append(servicer_reports(rng, deal))
        for n, (tranche_id, face, coupon) in enumerate(deal.tranches):
            critical = deal is joining and n == 0  # still short at the end, when its issuer joins the family
            by_key.append(distributions(rng, tranche_id, face, coupon, short_at_the_end=critical))
            if rng.random() < 0.4:
                by_key.append(ratings(rng, {"tranche_id": tranche_id}, "(sf)"))
    for issuer in sorted({d.issuer_id for d in deals} - set(FAMILY)):
        if rng.random() < 0.3:
            by_key.append(ratings(rng, {"issuer_id": issuer}, ""))
    if late:  # read before its deal: kept, and judged when the deal is announced (in the last phase)
        first = late[0]
        by_key.append([(SERVICER_REPORTS, servicer_report(f"s-{first.deal_id}-early", first.deal_id, 2,
                                                          first.debt_service(), 0.9))])  # fmt: skip
        tranche_id, face, coupon = first.tranches[0]
        due = round(face * coupon / 100 / 4)
        by_key.append([(DISTRIBUTIONS, distribution(f"p-{tranche_id}-early", tranche_id, PAYMENT_DATES[2], due,
                                                    round(due * 0.8)))])  # fmt: skip
        subject = {"tranche_id": tranche_id}
        by_key.append([(RATINGS, rating(f"r-{tranche_id}-early-{k}", subject, "CCXI", grade, day))
                       for k, (grade, day) in enumerate([("AA+(sf)", dt.date(2025, 6, 2)),
                                                         ("A(sf)", dt.date(2026, 1, 12))])])  # fmt: skip
    # the story's references, before its steps: the first payment, the first quarter, the first rating
    bus, tower = (next(d for d in deals if d.issuer_id == name) for name in FAMILY[:2])
    by_key.append([(DISTRIBUTIONS, distribution("p-fam-bus-0", bus.tranches[0][0], PAYMENT_DATES[0],
                                                1e7, 1e7))])  # fmt: skip
    by_key.append([(SERVICER_REPORTS, servicer_report("s-fam-tower-0", tower.deal_id, 0, 4e7, 1.5))])
    by_key.append([(RATINGS, rating("r-fam-water-0", {"issuer_id": "fam-water"}, "CCXI", "AA",
                                    dt.date(2025, 3, 1)))])  # fmt: skip
    records: list[Record] = []
    cursors = [0] * len(by_key)
    live = list(range(len(by_key)))
    while live:
        k = rng.choice(live)
        record = by_key[k][cursors[k]]
        records.append(record)
        if rng.random() < 0.02:
            records.append((record[0], duplicate(record[1])))
        cursors[k] += 1
        if cursors[k] == len(by_key[k]):
            live.remove(k)
    insert_bad(rng, records, bad_per_kind, "reports")
    return records


def joiner(deals: list[DealTerms]) -> DealTerms:
    """The deal whose issuer, in trouble, joins the Hubei family late in the story (and leaves again)."""
    return next(d for d in deals if d.issuer_id not in FAMILY)


def family_steps(deals: list[DealTerms]) -> list[list[Record]]:
    """The Hubei family's story, one step a phase: 1, 2 (warning), 3 (critical) issuers in trouble, then 2
    (still critical: severity never steps down while firing), 1 (resolved), 0."""
    bus, tower = (next(d for d in deals if d.issuer_id == name) for name in FAMILY[:2])
    bus_a = bus.tranches[0][0]
    water = {"issuer_id": "fam-water"}
    joining = joiner(deals).issuer_id  # noqa: F841  (the steps below that use it are held back)
    return [
        [(DISTRIBUTIONS, distribution("p-fam-bus-1", bus_a, PAYMENT_DATES[1], 1e7, 6e6, 4e6))],
        [(SERVICER_REPORTS, servicer_report("s-fam-tower-1", tower.deal_id, 1, 4e7, 0.75, 0.25))],
        [(RATINGS, rating("r-fam-water-1", water, "CCXI", "BBB+", dt.date(2025, 11, 3)))],
        [(DISTRIBUTIONS, distribution("p-fam-bus-2", bus_a, PAYMENT_DATES[2], 1e7, 1e7))],
        [(SERVICER_REPORTS, servicer_report("s-fam-tower-2", tower.deal_id, 2, 4e7, 1.4))],
        [(RATINGS, rating("r-fam-water-2", water, "CCXI", "AA", dt.date(2026, 2, 2)))],
    ]
    # Not yet played (see the report of the rel-topics helper): the bus company short again, then `joining`,
    # short since January, bought into the family by an entity record and sold on. The crash replay and the
    # rebalance agree with the reference on it, but after a broker restart (test_outages) the worker lost
    # both family_stress notices and its families document differed:
    #   [(DISTRIBUTIONS, distribution("p-fam-bus-3", bus_a, dt.date(2026, 2, 16), 1e7, 8e6))],
    #   [(ENTITIES, entity(f"e-{joining}-hubei", joining, "lgfv", "gov-wuhan", dt.date(2026, 2, 20)))],
    #   [(ENTITIES, entity(f"e-{joining}-sold", joining, "lgfv", "holding-new", dt.date(2026, 2, 25)))],


def family_deals(first_no: int, day: dt.date) -> list[dict[str, Any]]:
    """The story's three deals, one tranche each, never quoted (so below_par cannot move their count)."""
    return [
        {"event_id": f"d-{first_no + k}", "deal_id": f"DEAL-{first_no + k}", "issuer_id": issuer,
         "issuer_name": issuer.replace("-", " ").title(), "province": "Hubei", "city": "Wuhan",
         "announced_at": stamp(day, 10), "currency": "CNY", "asset_type": asset,
         "tranches": [{"tranche_id": f"T{first_no + k}-A", "face_value": face, "coupon_pct": 2.6,
                       "issue_date": (day + dt.timedelta(days=5)).isoformat(),
                       "maturity_date": (day + dt.timedelta(days=5 + 365 * 5)).isoformat(),
                       "seniority": "senior"}]}
        for k, (issuer, asset, face) in enumerate(
            zip(FAMILY, ("transport_revenue", "office_rent", "water_revenue"), (1.5e9, 6e8, 8e8), strict=True)
        )
    ]  # fmt: skip
