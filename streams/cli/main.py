"""The `tranchewatch` command: worker, publish, broker, demo, schema, bench."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import logging
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alerts.core.model import Alert
from alerts.exceptions import AlertsError
from streams.backtest import cli as backtest_cli
from streams.cli import alerts as alerts_cli
from streams.cli import watchlist as watchlist_cli
from streams.cli.csv_options import CSV_EPILOG, add_csv_arguments, csv_files, csv_records
from streams.kafka.codecs import KAFKA_CODECS
from streams.kafka.publish import PublishError
from streams.model.events import Deal, Distribution, Entity, Financials, Quote, Rating, ServicerReport
from streams.rebuild import cli as rebuild_cli
from streams.settings import load_settings


def cmd_worker(args: argparse.Namespace) -> int:
    from streams.worker.positions import load_at_start
    from streams.worker.run import run_worker
    from streams.worker.runtime import load_routing_config

    settings = load_settings()
    empty_token = settings.empty_api_token()
    if empty_token is not None:
        sys.exit(f"tranchewatch worker: {empty_token}")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        load_routing_config(settings)  # refuse a bad routing file before anything starts
    except AlertsError as exc:
        sys.exit(f"tranchewatch worker: {exc}")
    positions = load_at_start(settings.positions_file)  # and a bad positions file, naming each bad line
    if isinstance(positions, str):
        sys.exit(f"tranchewatch worker: {positions}")
    return run_worker(settings, positions=positions)


def _publish_input(args: argparse.Namespace) -> Iterable[tuple[str, Any]]:
    """The JSON Lines file (streamed), then each CSV file in the order given. Every CSV file is read, and
    every unreadable row reported, before anything is sent."""
    from streams.kafka.publish import iter_jsonl

    if args.file is None and not csv_files(args):
        raise PublishError(
            "give a JSON Lines file, CSV files (--csv, --distributions-csv, --servicer-csv), or both"
        )
    tables = csv_records(args)
    jsonl = iter_jsonl(Path(args.file)) if args.file is not None else iter(())
    return itertools.chain(jsonl, *tables)


def cmd_publish(args: argparse.Namespace) -> int:
    from streams.kafka.publish import publish_records
    from streams.security import kafka_client_options

    settings = load_settings()
    try:
        counts = publish_records(
            settings.kafka_bootstrap,
            _publish_input(args),
            compression=None if args.compression == "none" else args.compression,
            **kafka_client_options(settings),
        )
    except (PublishError, OSError) as exc:
        sys.exit(f"tranchewatch publish: {exc}")
    for topic, count in sorted(counts.items()):
        print(f"{topic}: {count}")
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    from streams.kafka.broker import EmbeddedBroker

    port = args.port or int(load_settings().kafka_bootstrap.split(",")[0].rsplit(":", 1)[1])
    broker = EmbeddedBroker(port=port)
    broker.start()
    print(f"embedded broker (Tansu, memory storage) on {broker.bootstrap}; Ctrl-C stops it", flush=True)

    def _stop(signum: int, frame: object) -> None:
        broker.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return broker.wait()


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo.run import run_demo

    return run_demo(Path(args.scenario) if args.scenario else None, pace_seconds=args.pace)


def cmd_schema(args: argparse.Namespace) -> int:
    schemas = {
        "bond.quotes": Quote.model_json_schema(),
        "abs.deals": Deal.model_json_schema(),
        "issuer.financials": Financials.model_json_schema(),
        "abs.distributions": Distribution.model_json_schema(),
        "abs.servicer_reports": ServicerReport.model_json_schema(),
        "abs.ratings": Rating.model_json_schema(),
        "abs.entities": Entity.model_json_schema(),
        "abs.alerts": Alert.model_json_schema(),
    }
    print(json.dumps(schemas, indent=2))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from streams.views.catalogue import markdown

    print(markdown())
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.only == "soak":
        from streams.bench.soak import run_soak

        settings = load_settings()
        soak = run_soak(
            args.quotes,
            args.tranches,
            args.soak_days,
            settings.redis_url.get_secret_value(),
            life_days=args.soak_life_days,
            retire_after=dt.timedelta(days=settings.retire_after_days),
        )
        print(soak.render(), flush=True)
        return 0
    if args.only == "scale":
        from streams.bench.scale import run_scale

        workers = tuple(int(n) for n in args.workers.split(","))
        scale = run_scale(args.quotes, args.tranches, workers, args.partitions)
        print(scale.render(), flush=True)
        return 0 if scale.same_alerts else 1
    from streams.bench.report import render
    from streams.bench.run import Options, run_bench

    options = Options(
        quotes=args.quotes,
        tranches=args.tranches,
        rate=args.rate,
        latency_quotes=args.latency_quotes,
        redis_url=load_settings().redis_url.get_secret_value(),
        workdir=Path(args.workdir) if args.workdir else None,
        only=args.only,
        compression=None if args.compression == "none" else args.compression,
    )
    report = run_bench(options)
    print(render(report), flush=True)
    return 0 if report.alerts_match or args.only else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tranchewatch", description="Surveillance of asset-backed securities.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("worker", help="run the stream processors until stopped").set_defaults(func=cmd_worker)
    pub = sub.add_parser(
        "publish",
        help="publish a JSON Lines file of {topic, value} records, and CSV exports with a column mapping",
        epilog="Example: tranchewatch publish deals.jsonl --distributions-csv trustee.csv "
        "--distributions-map tranche_id=Tranche,payment_date=Paid,...\n\n" + CSV_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pub.add_argument("file", nargs="?", help='JSON Lines of {"topic": ..., "value": ...}')
    add_csv_arguments(pub)
    pub.add_argument(
        "--compression",
        choices=["none", *KAFKA_CODECS],
        default="none",
        help="record batch codec (default none); the worker reads every one",
    )
    pub.set_defaults(func=cmd_publish)
    brk = sub.add_parser("broker", help="run the embedded Kafka-compatible broker in the foreground")
    brk.add_argument(
        "--port", type=int, default=None, help="default: the port of TRANCHEWATCH_KAFKA_BOOTSTRAP"
    )
    brk.set_defaults(func=cmd_broker)
    demo = sub.add_parser("demo", help="embedded broker, local Redis, the demo scenario, alerts printed")
    demo.add_argument("--scenario", default=None, help="a JSON Lines file instead of the built-in story")
    demo.add_argument(
        "--pace", type=float, default=0.25, help="seconds between published events (default 0.25)"
    )
    demo.set_defaults(func=cmd_demo)
    backtest_cli.add_commands(sub)  # each command module registers its commands the same way
    watchlist_cli.add_commands(sub)
    rebuild_cli.add_commands(sub)
    sub.add_parser("schema", help="print the JSON Schema of every event and of the alert").set_defaults(
        func=cmd_schema
    )
    sub.add_parser("metrics", help="print the metrics catalogue (name, type, labels, meaning)").set_defaults(
        func=cmd_metrics
    )
    alerts_cli.add_commands(sub)
    bench = sub.add_parser(
        "bench", help="throughput and latency against raw aiokafka, faust and a naive loop"
    )
    bench.add_argument("--quotes", type=int, default=200_000, help="quotes to generate (default 200000)")
    bench.add_argument("--tranches", type=int, default=2_000, help="tranches they spread over (default 2000)")
    bench.add_argument("--rate", type=float, default=5_000.0, help="quotes/s of the fixed-load latency run")
    bench.add_argument("--latency-quotes", type=int, default=50_000, help="quotes per latency run")
    bench.add_argument(
        "--only",
        choices=["throughput", "soak", "scale"],
        default=None,
        help="throughput: only raw aiokafka and the empty faust agents (no Redis, no alerts compared); "
        "soak: the handler on Redis over --quotes quotes, Redis bytes per tranche and per event, RSS; "
        "scale: --workers workers on a --partitions-partition quote topic, a redis-server of its own each",
    )
    bench.add_argument("--workers", default="1,2,4", help="worker counts of --only scale (default 1,2,4)")
    bench.add_argument(
        "--partitions", type=int, default=8, help="partitions of bond.quotes for --only scale (default 8)"
    )
    bench.add_argument(
        "--soak-days", type=float, default=120.0, help="days of event time the soak's quotes span (120)"
    )
    bench.add_argument(
        "--soak-life-days",
        type=int,
        default=0,
        help="soak: a rolling market whose tranches each live this many days, maturing and retiring all the "
        "time (TRANCHEWATCH_RETIRE_AFTER_DAYS after maturity); 0: the bench's market (default)",
    )
    bench.add_argument(
        "--compression",
        choices=["none", *KAFKA_CODECS],
        default="none",
        help="codec of the record batches the bench publishes (default none)",
    )
    bench.add_argument("--workdir", default=None, help="where logs go (default: a new temporary directory)")
    bench.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
