"""`tranchewatch silence add|list|expire`, `tranchewatch ack FINGERPRINT`, `tranchewatch alerts list|show|failures`:
the operator's commands, reading and writing the same Redis the workers use."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import getpass
import json
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any, get_args

from alerts.exceptions import AlertsError, NotFound
from alerts.mute.schedule import Recurrence
from alerts.ops.service import AlertsService
from streams.redis_client import async_redis
from streams.settings import load_settings

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def parse_until(until: str | None, duration: str | None, now: dt.datetime) -> dt.datetime:
    if until:
        when = dt.datetime.fromisoformat(until)
        if when.tzinfo is None:
            raise ValueError(f"--until {until!r} needs a UTC offset, e.g. 2025-10-08T09:00:00+08:00")
        return when
    m = _DURATION.match(duration or "")
    if m is None:
        raise ValueError("give --until ISO-TIME or --duration like 30m, 2h, 7d")
    return now + dt.timedelta(seconds=float(m[1]) * _UNIT_SECONDS[m[2]])


def _run(
    func: Callable[[AlertsService, argparse.Namespace], Awaitable[Any]], args: argparse.Namespace
) -> int:
    settings = load_settings()

    async def go() -> Any:
        redis = async_redis(settings, socket_connect_timeout=5)
        try:
            return await func(AlertsService(redis, settings.redis_prefix), args)
        finally:
            await redis.aclose()

    try:
        result = asyncio.run(go())
    except (AlertsError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        sys.exit(f"tranchewatch {args.command}: {exc}")
    print(json.dumps(result, indent=2, default=str) if not isinstance(result, str) else result)
    return 0


async def _silence_add(svc: AlertsService, a: argparse.Namespace) -> Any:
    ends = parse_until(a.until, a.duration, svc.clock())
    silence = await svc.add_silence(a.matcher, a.author, a.comment, ends, recurring=a.recurring)
    return silence.model_dump(mode="json")


async def _silence_list(svc: AlertsService, a: argparse.Namespace) -> Any:
    return await svc.list_silences(include_expired=a.all)


async def _silence_expire(svc: AlertsService, a: argparse.Namespace) -> Any:
    return (await svc.expire_silence(a.id)).model_dump(mode="json")


async def _ack(svc: AlertsService, a: argparse.Namespace) -> Any:
    return (await svc.acknowledge(a.fingerprint, a.author, a.comment)).model_dump(mode="json")


async def _alerts_list(svc: AlertsService, a: argparse.Namespace) -> Any:
    rows = await svc.list_alerts(a.state)
    lines = [
        f"{r['fingerprint']}  {r['state']:<12} {r['severity']:<8} {r['rule']:<22} {r['summary']}"
        for r in rows
    ]
    return "\n".join(lines) if lines else "no alerts"


async def _alerts_show(svc: AlertsService, a: argparse.Namespace) -> Any:
    found = await svc.show(a.fingerprint)
    if found is None:
        raise NotFound(f"no alert with fingerprint {a.fingerprint!r}")
    return found


async def _alerts_failures(svc: AlertsService, a: argparse.Namespace) -> Any:
    return await svc.failures(a.limit)


def _cmd(
    func: Callable[[AlertsService, argparse.Namespace], Awaitable[Any]],
) -> Callable[[argparse.Namespace], int]:
    return lambda args: _run(func, args)


def add_commands(sub: Any) -> None:
    me = getpass.getuser()
    sil = sub.add_parser("silence", help="mute notices matching labels until a time").add_subparsers(
        dest="action", required=True
    )
    add = sil.add_parser(
        "add", help="e.g. silence add -m rule=stale_quote -m province=Hubei -d 2h -c 'data fix'"
    )
    add.add_argument("-m", "--matcher", action="append", required=True, help="NAME=VALUE, !=, =~REGEX, !~")
    add.add_argument("-c", "--comment", required=True)
    add.add_argument("-a", "--author", default=me)
    add.add_argument("-u", "--until", help="end, ISO-8601 with offset")
    add.add_argument("-d", "--duration", help="or a length: 30m, 2h, 7d")
    add.add_argument(
        "--recurring",
        choices=get_args(Recurrence),
        help="mute only notices whose event time falls on these days (China time)",
    )
    add.set_defaults(func=_cmd(_silence_add))
    lst = sil.add_parser("list", help="active and pending silences")
    lst.add_argument("--all", action="store_true", help="expired ones too")
    lst.set_defaults(func=_cmd(_silence_list))
    exp = sil.add_parser("expire", help="end a silence now")
    exp.add_argument("id")
    exp.set_defaults(func=_cmd(_silence_expire))

    ack = sub.add_parser(
        "ack", help="acknowledge a firing alert: its firing notices are muted until it resolves"
    )
    ack.add_argument("fingerprint")
    ack.add_argument("-a", "--author", default=me)
    ack.add_argument("-c", "--comment", default="")
    ack.set_defaults(func=_cmd(_ack))

    alerts = sub.add_parser("alerts", help="alert state and history").add_subparsers(
        dest="action", required=True
    )
    al = alerts.add_parser("list", help="every alert with its state")
    al.add_argument("--state", choices=["firing", "acknowledged", "resolved"])
    al.set_defaults(func=_cmd(_alerts_list))
    sh = alerts.add_parser("show", help="one alert with every transition and its evidence")
    sh.add_argument("fingerprint")
    sh.set_defaults(func=_cmd(_alerts_show))
    fl = alerts.add_parser("failures", help="notices a receiver refused for good")
    fl.add_argument("--limit", type=int, default=100)
    fl.set_defaults(func=_cmd(_alerts_failures))
