"""The rules alone: `apply_event` over the bench's generated market, in memory, no Redis, no Kafka.

    python -m streams.bench.rules [--quotes 40000] [--tranches 2000] [--batch 2000] [--profile] [--structured]

Deals and financials first, then the quotes, in batches that share their documents the way the state cache
lets the worker's batches share them; each batch ends by serialising its dirty documents, as a commit does.
Prints quotes/s (CPU time of this process, less disturbed by other load than wall time) for the rules and
for the serialising, and digests of the notices (their exact JSON) and of
the final state, so a change that should not alter behaviour can be checked for it; `--profile` adds a
cProfile top list of one more pass.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from streams.bench.data import generate
from streams.bench.structured import structured
from streams.engine.apply import apply_event
from streams.ingest.parse import Rejected, parse
from streams.model.events import Event, Quote
from streams.rules import stale_quote
from streams.rules.registry import RulesConfig
from streams.state.snapshot import Snapshot


@dataclass
class Pass:
    seconds_rules: float
    seconds_serialise: float
    quotes: int
    notices: str  # sha256 of every notice's JSON, in order
    notice_count: int
    state: str  # sha256 of every document's fields, keys sorted


def events(quotes: int, tranches: int) -> list[tuple[str, Event]]:
    data = generate(quotes, tranches)
    out: list[tuple[str, Event]] = []
    for topic, _, value in data.reference + data.quotes:
        event = parse(topic, value)
        assert not isinstance(event, Rejected), event.reason
        out.append((topic, event))
    return out


def run(stream: Sequence[tuple[str, Event]], batch: int, rules: RulesConfig) -> Pass:
    carried = Snapshot()
    notices = hashlib.sha256()
    count, rules_s, serialise_s = 0, 0.0, 0.0
    for start in range(0, len(stream), batch):
        chunk = stream[start : start + batch]
        snap = Snapshot(
            tranches=carried.tranches, issuers=carried.issuers, deals=carried.deals, market=carried.market
        )
        # As load_snapshot does: stale_quote's in-memory index holds only what the batch's final clock
        # can make overdue.
        quoted = [e.ts for _, e in chunk if isinstance(e, Quote)]
        if quoted:
            snap.index.below = stale_quote.cutoff(max(quoted), rules.stale_quote)
        began = time.process_time()
        for topic, event in chunk:
            apply_event(snap, topic, event, rules)
        applied = time.process_time()
        snap.to_commit()
        serialise_s += time.process_time() - applied
        rules_s += applied - began
        for notice in snap.notices:
            notices.update(notice.model_dump_json().encode())
        count += len(snap.notices)
        carried = snap
    quotes = sum(isinstance(e, Quote) for _, e in stream)
    return Pass(rules_s, serialise_s, quotes, notices.hexdigest(), count, _state_digest(carried))


def _state_digest(snap: Snapshot) -> str:
    docs: list[object] = [snap.market.model_dump(mode="json")]
    for group in (snap.tranches, snap.issuers, snap.deals):
        docs.extend(group[k].model_dump(mode="json") for k in sorted(group))
    return hashlib.sha256(orjson.dumps(docs, option=orjson.OPT_SORT_KEYS)).hexdigest()


def profile(stream: Sequence[tuple[str, Event]], batch: int, rules: RulesConfig, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run(stream, batch, rules)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.bench.rules", description=__doc__)
    parser.add_argument("--quotes", type=int, default=40_000)
    parser.add_argument("--tranches", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=2_000, help="events per batch (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is shown")
    parser.add_argument("--profile", action="store_true", help="add a cProfile top list of one more pass")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--rules", type=Path, default=None, help="rules TOML (default: the contract's)")
    parser.add_argument(
        "--structured",
        action="store_true",
        help="amortising quarterly tranches quoted per 100 of original face (streams/bench/structured.py)",
    )
    args = parser.parse_args(argv)
    rules = RulesConfig.load(args.rules)
    stream = events(args.quotes, args.tranches)
    if args.structured:
        stream = structured(stream)
    passes = [run(stream, args.batch, rules) for _ in range(args.repeat)]
    best = min(passes, key=lambda p: p.seconds_rules)
    assert len({(p.notices, p.state) for p in passes}) == 1, "passes disagree"
    print(
        f"{best.quotes} quotes over {args.tranches} tranches, batches of {args.batch}, best of {args.repeat}"
    )
    print(f"rules:      {best.quotes / best.seconds_rules:9,.0f} quotes/s ({best.seconds_rules:.2f} s)")
    print(
        f"serialise:  {best.quotes / best.seconds_serialise:9,.0f} quotes/s ({best.seconds_serialise:.2f} s)"
    )
    print(f"notices:    {best.notice_count} sha256 {best.notices}")
    print(f"state:      sha256 {best.state}")
    if args.profile:
        print(profile(stream, args.batch, rules, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
