"""`tranchewatch rebuild`: argument parsing and printing; the work is in streams/rebuild/run.py."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from streams.model.positions import PositionsError
from streams.rebuild.run import Rebuild, RebuildAborted, RebuildRefused, RebuildReport
from streams.settings import load_settings
from streams.worker.runtime import redact_secrets

EPILOG = """\
Run it when a worker reports the state lost (/readyz, the log, tranchewatch_state_blocked{reason="state_lost"}):
stop the workers, run this, start the workers. Ctrl-C stops it; running it again resumes where it stopped.
What it needs from Kafka and Redis: README, When Redis loses its data.
"""


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "rebuild",
        help="rebuild a lost state from the input topics' history, without notifying twice",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--batch-size", type=int, default=None, help="events per commit (default: the worker's)")
    p.add_argument("--progress-every", type=int, default=10_000, help="events between progress lines")
    p.set_defaults(func=cmd_rebuild)


def summary(report: RebuildReport) -> str:
    lines = [
        f"rebuilt: {report.events:,} events replayed{' (resumed)' if report.resumed else ''}; "
        f"{report.dead_letters:,} invalid (dead-lettered before, not again)",
        f"notices: {report.notices:,} transitions recorded in the alert history; "
        f"{report.notices - report.to_send:,} shown as sent on the ledger (not sent again), "
        f"{report.to_send:,} not on it (sent once the workers start)",
    ]
    if report.alertmanager:
        lines.append(f"alertmanager: {report.alertmanager:,} firing alerts handed back to its re-posts")
    if report.retention_gaps:
        lines.append("incomplete history: " + "; ".join(report.retention_gaps))
    lines.append("the state is live: start the workers (tranchewatch worker)")
    return "\n".join(lines)


def cmd_rebuild(args: argparse.Namespace) -> int:
    settings = load_settings("tranchewatch rebuild")
    redact_secrets(settings)  # before anything can log a secret
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        rebuild = Rebuild(
            settings,
            say=lambda line: print(line, flush=True),
            batch_size=args.batch_size,
            progress_every=args.progress_every,
        )
    except PositionsError as exc:
        print(f"tranchewatch rebuild: TRANCHEWATCH_POSITIONS_FILE: {exc}", file=sys.stderr)
        return 1
    try:
        report = asyncio.run(rebuild.run())
    except RebuildRefused as exc:
        print(f"tranchewatch rebuild: {exc}", file=sys.stderr)
        return 1
    except RebuildAborted as exc:
        print(f"tranchewatch rebuild: stopped, the state changed under it: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tranchewatch rebuild: interrupted; run it again to resume where it stopped", file=sys.stderr)
        return 130
    print(summary(report), flush=True)
    return 0
