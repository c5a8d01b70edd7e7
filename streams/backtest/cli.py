"""`tranchewatch backtest`: argument parsing and printing; the work is in the modules beside this one."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from streams.cli.csv_options import CSV_EPILOG, add_csv_arguments, csv_files, csv_records
from streams.rules.registry import RulesConfig
from streams.settings import load_settings

from . import sources
from .compare import compare
from .replay import BacktestRun, Progress, run_backtest
from .table import alerts_table, changes_table, counts_line
from .tranches import tranche_rows

EPILOG = (
    """\
Replay order: the records' order in the file, as the worker reads each topic in its own order; with
--sort-by-event-time (or when reading more than one source) a stable sort on each event's own timestamp.
Examples:
  tranchewatch backtest events.jsonl --rules deploy/rules.example.toml --rules candidate.toml
  tranchewatch backtest deals.jsonl --csv quotes.csv --map tranche_id=Code,ts=Date,price=Close --tz +08:00
  tranchewatch backtest deals.jsonl --distributions-csv trustee.csv --servicer-csv servicer.csv \
      --servicer-map deal_id=Deal,period_start=From,period_end=To,reported_at=Published,...

"""
    + CSV_EPILOG
)


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "backtest",
        help="replay events through the rules, no broker; compare two rules files",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("events", nargs="?", type=Path, help='JSON Lines of {"topic": ..., "value": ...}')
    p.add_argument(
        "--rules", action="append", type=Path, default=[], help="rules TOML; give twice to compare"
    )
    add_csv_arguments(p)
    p.add_argument("--sort-by-event-time", action="store_true", help="replay in event-time order")
    p.add_argument("--batch-size", type=int, default=500, help="events per batch, as the worker (speed only)")
    p.add_argument(
        "--progress-every", type=int, default=10_000, help="events between progress lines (0: none)"
    )
    p.add_argument("--json", action="store_true", help="print the notices and changes as JSON")
    p.add_argument(
        "--report", type=Path, default=None, metavar="DIR", help="write report.html and PNG charts"
    )
    p.set_defaults(func=cmd_backtest)


def _records(args: argparse.Namespace) -> list[sources.Record]:
    if args.events is None and not csv_files(args):
        raise ValueError(
            "give an events file, CSV files (--csv, --distributions-csv, --servicer-csv), or both"
        )
    streams: list[list[sources.Record]] = []
    if args.events is not None:
        streams.append(list(sources.read_jsonl(args.events)))
    streams.extend(csv_records(args))
    records = [r for s in streams for r in s]
    # Several files have no common order but event time: concatenating them would replay every deal
    # before every quote.
    return sources.by_event_time(records) if args.sort_by_event_time or len(streams) > 1 else records


def _progress(label: str, every: int) -> Progress | None:
    if every <= 0:
        return None
    started, shown = time.monotonic(), [0]

    def report(done: int) -> None:
        if done // every > shown[0]:
            shown[0] = done // every
            rate = done / max(time.monotonic() - started, 1e-9)
            print(f"backtest [{label}]: {done:,} events ({rate:,.0f}/s)", file=sys.stderr, flush=True)

    return report


def _load_rules(paths: list[Path]) -> list[tuple[str, RulesConfig]]:
    if not paths:
        return [("contract defaults", RulesConfig())]
    if len(paths) > 2:
        raise ValueError("--rules at most twice: a baseline and a candidate")
    return [(path.name, RulesConfig.load(path)) for path in paths]


def cmd_backtest(args: argparse.Namespace) -> int:
    # Each dead letter is counted in the summary; the worker's per-event warning would only be noise here.
    logging.getLogger("streams.ingest.deadletter").setLevel(logging.ERROR)
    try:
        rule_sets = _load_rules(args.rules)
        records = _records(args)
    # A records file's PublishError and pydantic's ValidationError are ValueErrors too.
    except (OSError, ValueError) as exc:
        sys.exit(f"tranchewatch backtest: {exc}")
    # Tranches retire as in the worker (TRANCHEWATCH_RETIRE_AFTER_DAYS), on the replay's event-time clock.
    retire_after = dt.timedelta(days=load_settings("tranchewatch backtest").retire_after_days)
    runs = [
        run_backtest(
            records,
            rules,
            label=label,
            batch_size=max(1, args.batch_size),
            progress=_progress(label, args.progress_every),
            retire_after=retire_after,
        )
        for label, rules in rule_sets
    ]
    changes = compare(runs[0].notices, runs[1].notices) if len(runs) == 2 else []
    if args.json:
        print(json.dumps(_as_json(runs, changes), indent=2, default=str))
    else:
        _print_text(args, len(records), runs, changes)
    if args.report is not None:
        _report(args.report, runs, changes, records, sys.stderr if args.json else sys.stdout)
    return 0


def _report(
    directory: Path, runs: list[BacktestRun], changes: list[Any], records: list[Any], out: Any
) -> None:
    try:
        from .report import write_report
    except ImportError as exc:  # matplotlib is an optional extra: the worker image does without it
        sys.exit(
            f"tranchewatch backtest --report needs matplotlib: pip install 'tranchewatch[report]' ({exc})"
        )
    print(f"\nreport: {write_report(directory, runs, changes, records)}", file=out)


def _print_text(args: argparse.Namespace, count: int, runs: list[BacktestRun], changes: list[Any]) -> None:
    merged = args.sort_by_event_time or csv_files(args) + (args.events is not None) > 1
    order = "event-time order" if merged else "file order"
    print(f"Backtest of {count} records ({order}) under {runs[0].label}")
    print(counts_line(runs[0]))
    print()
    print(alerts_table(runs[0].notices))
    if len(runs) == 2:
        print()
        print(f"Under {runs[1].label}: {counts_line(runs[1])}")
        print()
        print(f"Changes from {runs[0].label} to {runs[1].label}:")
        print(changes_table(changes))


def _as_json(runs: list[BacktestRun], changes: list[Any]) -> dict[str, Any]:
    return {
        "runs": [
            {
                "label": run.label,
                "counts": run.counts,
                "notices": [n.model_dump(mode="json") for n in run.notices],
                "firing": sorted(run.firing()),
                "dead_letters": [{"topic": t, "reason": r} for t, r in run.dead_letters],
                "tranches": tranche_rows(run.tranches()),
            }
            for run in runs
        ],
        "changes": [
            {"kind": c.kind, "rule": c.rule, "subject": c.subject, "detail": c.detail} for c in changes
        ],
    }
