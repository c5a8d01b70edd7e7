"""Writes the benchmark's generated market as a JSON Lines file for `tranchewatch backtest` or `publish`.

    python -m streams.bench.market OUT.jsonl [--quotes 8000] [--tranches 200] [--days-between-rounds 2]

The market of streams/bench/data.py (deals over two years, two periods per issuer, tranches that slide, dip
and recover or stay quiet), with its quote rounds spread out: the benchmark's 90 minutes make a liquid
market, a few days a thin one, as ABS paper often is. Each line is {"topic": ..., "value": {...}}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import orjson

from streams.bench.data import generate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.bench.market", description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--quotes", type=int, default=8_000)
    parser.add_argument("--tranches", type=int, default=200)
    parser.add_argument("--days-between-rounds", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    step = dt.timedelta(days=args.days_between_rounds)
    data = generate(args.quotes, args.tranches, seed=args.seed, round_step=step)
    with args.out.open("w", encoding="utf-8") as fh:
        for topic, _, value in data.reference + data.quotes:
            fh.write(json.dumps({"topic": topic, "value": orjson.loads(value)}) + "\n")
    print(f"{data.total} events ({data.counts()}) written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
