"""A generated market, deterministic in its seed, replayed in phases, and its undisturbed reference run.

Phases keep the result independent of how the broker interleaves topics (see streams/engine/apply.py): who
owns whom, the early deals, then the issuers' reports, then the quotes (the bulk, with duplicates of the same
key and different content), then the trustee's and servicers' reports and the ratings, then a credit family's
story one step a phase, then late deals that may issue into weakness (tests/reliability/v2_events.py says
why the v2 topics are cut so). Each phase is published once the previous one is fully stored, so the
undisturbed reference (the same BatchHandler on the in-memory store, phase by phase) is what any correct run
must end with, whatever the batching, the crashes or the rebalances.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerts.core.model import Alert
from streams.engine.pipeline import BatchHandler
from streams.ingest.deadletter import Envelope, KeptDeadLetters
from streams.kafka.publish import message_key
from streams.kafka.topics import DEALS, FINANCIALS, QUOTES
from streams.metrics import Metrics
from streams.rules.registry import RulesConfig
from streams.state.memory_store import MemoryStore
from tests.reliability import v2_events
from tests.reliability.v2_events import BAD_PREFIX, DealTerms

# stale_quote is judged on the market-wide clock (the newest quote on any tranche), so its alerts depend on
# how the broker interleaves the quote partitions: two undisturbed runs can differ. The comparisons leave
# it out; every other rule's alerts are a function of each key's own order.
RULES_FILE = Path(__file__).with_name("rules.toml")


def rules() -> RulesConfig:
    return RulesConfig.load(RULES_FILE)


CHINA = dt.timezone(dt.timedelta(hours=8))


def full_size() -> bool:
    return os.environ.get("TW_RELIABILITY_FULL", "") not in ("", "0", "false")


def _timeout() -> int:
    return 3600 if full_size() else 600


def size_from_env(name: str, ci: int, full: int) -> int:
    """TW_RELIABILITY_<NAME> wins; else the full size under TW_RELIABILITY_FULL=1; else the CI size."""
    explicit = os.environ.get(f"TW_RELIABILITY_{name}")
    if explicit:
        return int(explicit)
    return full if full_size() else ci


TIMEOUT = _timeout()  # seconds per test: the full size runs far past pytest's default of 300


@dataclass
class Phase:
    name: str
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (topic, value)

    def distinct_ids(self) -> dict[str, set[str]]:
        """The event ids the worker stores: bad records (`bad_record`) are dead-lettered instead."""
        ids: dict[str, set[str]] = defaultdict(set)
        for topic, value in self.records:
            if not is_bad(value):
                ids[topic].add(value["event_id"])
        return ids


@dataclass
class Scenario:
    seed: int
    phases: list[Phase]

    @property
    def events(self) -> int:
        return sum(len(p.records) for p in self.phases)

    def by_topic(self) -> str:
        """'bond.quotes 4529, ...': the records of each topic, bad ones counted apart."""
        good: Counter[str] = Counter(t for p in self.phases for t, v in p.records if not is_bad(v))
        bad: Counter[str] = Counter(t for p in self.phases for t, v in p.records if is_bad(v))
        return ", ".join(
            f"{t} {n}" + (f" (+{bad[t]} bad)" if bad[t] else "") for t, n in sorted(good.items())
        )

    def distinct_ids(self) -> dict[str, set[str]]:
        ids: dict[str, set[str]] = defaultdict(set)
        for phase in self.phases:
            for topic, found in phase.distinct_ids().items():
                ids[topic] |= found
        return ids

    def chunked(self, name: str, pieces: int) -> Scenario:
        """The same scenario with one phase published in pieces (each key's order kept)."""
        phases: list[Phase] = []
        for phase in self.phases:
            if phase.name != name:
                phases.append(phase)
                continue
            size = -(-len(phase.records) // pieces)
            for i in range(0, len(phase.records), size):
                phases.append(Phase(f"{name} {i // size + 1}/{pieces}", phase.records[i : i + size]))
        return Scenario(self.seed, phases)


def is_bad(value: dict[str, Any]) -> bool:
    return str(value.get("event_id", "")).startswith(BAD_PREFIX)


def bad_record(n: int, tranche_id: str) -> dict[str, Any]:
    """A quote that fails validation (a negative price): a dead letter, unique by its event id."""
    return {"event_id": f"{BAD_PREFIX}{n}", "tranche_id": tranche_id, "ts": "2025-02-03T09:30:00+08:00",
            "price": -1.0}  # fmt: skip


def _ts(day: dt.date, hour: int = 9, minute: int = 30) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHINA).isoformat()


def _deal(rng: random.Random, n: int, issuer: str, tranche_ids: list[str], day: dt.date) -> dict[str, Any]:
    return {
        "event_id": f"d-{n}",
        "deal_id": f"DEAL-{n}",
        "issuer_id": issuer,
        "issuer_name": f"Issuer {issuer}",
        "province": "Hubei",
        "city": "Wuhan",
        "announced_at": _ts(day, 10, 0),
        "currency": "CNY",
        "asset_type": rng.choice(["transport_revenue", "water_revenue", "toll_road"]),
        "tranches": [
            {
                "tranche_id": t,
                "face_value": rng.choice([2e8, 5e8, 6e8, 1e9]),
                "coupon_pct": rng.choice([2.4, 2.6, 3.1]),
                "issue_date": (day + dt.timedelta(days=5)).isoformat(),
                "maturity_date": (day + dt.timedelta(days=5 + 365 * rng.choice([3, 5, 10]))).isoformat(),
                "seniority": "senior",
            }
            for t in tranche_ids
        ],
    }


def generate(events: int, seed: int = 6, bad: int = 0) -> Scenario:
    """About `events` records: 2% deals, 3% financials, about 8% on the v2 topics (v2_events.py), the rest
    quotes (1% of them duplicates); `bad` invalid quotes spread among them, and with them bad messages on the
    v2 topics, `bad // 50` (at least one) of each kind v2_events.BAD lists."""
    rng = random.Random(seed)
    more = random.Random(seed + 1_000_003)  # the v2 topics' own, so the v1 records stay as they were
    n_issuers = max(2, events // 250)
    owners, early, reports, quotes, late = (
        Phase("entities"),
        Phase("early deals"),
        Phase("reports"),
        Phase("quotes"),
        Phase("late deals"),
    )
    tranches: list[str] = []
    deal_no = 0
    for i in range(n_issuers):
        issuer = f"issuer-{i}"
        for _ in range(rng.choice([1, 1, 2])):
            deal_no += 1
            ids = [f"T{deal_no}-{c}" for c in "ABC"[: rng.choice([1, 2, 3])]]
            day = dt.date(2024, 1, 2) + dt.timedelta(days=rng.randrange(0, 700))
            early.records.append((DEALS, _deal(rng, deal_no, issuer, ids, min(day, dt.date(2025, 1, 10)))))
            tranches.extend(ids)
        for k, (start, end) in enumerate(
            [("2024-01-01", "2024-06-30"), ("2024-07-01", "2024-12-31"), ("2025-01-01", "2025-06-30")]
        ):
            income = rng.choice([1, -1, -1]) * rng.uniform(1e6, 1e9) * (k + 1)
            reports.records.append(
                (
                    FINANCIALS,
                    {
                        "event_id": f"f-{i}-{k}",
                        "issuer_id": issuer,
                        "period_start": start,
                        "period_end": end,
                        "net_income": round(income),
                        "currency": "CNY",
                        "reported_at": _ts(dt.date.fromisoformat(end) + dt.timedelta(days=60), 18, 0),
                    },
                )
            )
    late_issuers = range(0, n_issuers, 3)
    late_no = deal_no + 3  # after the family's three deals
    per_kind = max(1, bad // 50) if bad else 0
    owners.records = v2_events.entities(more, [f"issuer-{i}" for i in range(n_issuers)])
    v2_events.insert_bad(more, owners.records, per_kind, "entities")
    early.records += [(DEALS, d) for d in v2_events.family_deals(deal_no + 1, dt.date(2024, 6, 3))]
    deals = [DealTerms.of(value) for _, value in early.records]
    surveillance = Phase(
        "distributions, servicer reports, ratings",
        v2_events.surveillance(
            more, deals, [DealTerms(f"DEAL-{late_no + 1}", "issuer-0", [(f"T{late_no + 1}-A", 6e8, 2.6)])],
            per_kind,
        ),
    )  # fmt: skip
    steps = [Phase(f"family step {n + 1}", step) for n, step in enumerate(v2_events.family_steps(deals))]
    v2_count = len(owners.records) + len(surveillance.records) + sum(len(p.records) for p in steps)
    budget = max(
        len(tranches),
        events - len(early.records) - len(reports.records) - v2_count - len(late_issuers),
    )
    streams: dict[str, list[dict[str, Any]]] = {}
    for t in tranches:
        price, day = 99.5, dt.date(2025, 2, 3)
        series = []
        for q in range(budget // len(tranches)):
            price = min(104.0, max(85.0, price + rng.gauss((99.0 - price) * 0.1, 0.55)))
            series.append(
                {
                    "event_id": f"q-{t}-{q}",
                    "tranche_id": t,
                    "ts": _ts(day),
                    "price": round(price, 3),
                    "source": "SSE",
                }
            )
            day += dt.timedelta(days=1 if day.weekday() < 4 else 3)
        streams[t] = series
    cursors = dict.fromkeys(streams, 0)
    while cursors:
        t = rng.choice(list(cursors))
        value = streams[t][cursors[t]]
        quotes.records.append((QUOTES, value))
        if rng.random() < 0.01:  # a duplicate event_id with different content: must change nothing
            quotes.records.append((QUOTES, {**value, "price": round(value["price"] - 7.0, 3)}))
        cursors[t] += 1
        if cursors[t] == len(streams[t]):
            del cursors[t]
    for n in range(bad):  # each after a valid quote of its tranche, so its partition has work around it
        at = rng.randrange(len(quotes.records))
        quotes.records.insert(at + 1, (QUOTES, bad_record(n, quotes.records[at][1]["tranche_id"])))
    deal_no = late_no
    for i in late_issuers:  # late deals, announced after the quotes, into whatever state they left
        deal_no += 1
        late.records.append(
            (DEALS, _deal(rng, deal_no, f"issuer-{i}", [f"T{deal_no}-A"], dt.date(2026, 3, 2)))
        )
    return Scenario(seed, [owners, early, reports, quotes, surveillance, *steps, late])


@dataclass
class Reference:
    documents: dict[str, Any]  # key -> parsed document
    notices: list[Alert]
    dead_letters: list[bytes]  # the values on tranchewatch.deadletter


async def reference_run(scenario: Scenario, batch: int = 97) -> Reference:
    """The undisturbed run: the worker's own BatchHandler on the in-memory store, phase by phase."""
    store = MemoryStore()
    dead = KeptDeadLetters()
    handler = BatchHandler(store, rules(), dead, Metrics())
    offsets: dict[str, int] = defaultdict(int)
    for phase in scenario.phases:
        envelopes = []
        for topic, value in phase.records:
            raw = json.dumps(value).encode()
            envelopes.append(Envelope(topic, 0, offsets[topic], message_key(topic, value), raw, 0.0))
            offsets[topic] += 1
        for start in range(0, len(envelopes), batch):
            await handler.handle(envelopes[start : start + batch])
    documents = {key: json.loads(body) for key, (_, body) in store.documents.items()}
    return Reference(documents, list(store.outbox), [record[2] for record in dead.records])
