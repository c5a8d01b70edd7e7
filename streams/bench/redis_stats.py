"""What a contender left in Redis: how far it got, the alerts it decided, the memory its state takes.
Only keys under the run's own prefix are read or deleted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import orjson
import redis

from alerts.keys import AlertKeys
from streams.state.keys import StateKeys

AlertKey = tuple[str, str, str, str, int, str]  # fingerprint, rule, severity, status, seq, event_time


def _keys(client: redis.Redis, pattern: str) -> Iterator[bytes]:
    yield from client.scan_iter(match=pattern, count=1000)


def seen_count(client: redis.Redis, prefix: str, topic: str) -> int:
    """Event ids stored: the worker's (by event time, kept whole by the bench's retention) or the naive
    baseline's (a set)."""
    keys = StateKeys(prefix)
    return int(client.zcard(keys.ids(topic))) + int(client.scard(keys.seen(topic)))


def alert_set(client: redis.Redis, prefix: str) -> set[AlertKey]:
    """Every notice ever committed, from the per-fingerprint history the worker and the baseline both keep."""
    keys = list(_keys(client, AlertKeys(prefix).history_pattern))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.lrange(key, 0, -1)
    out: set[AlertKey] = set()
    for rows in pipe.execute():
        for row in rows:
            a = orjson.loads(row)
            out.add((a["fingerprint"], a["rule"], a["severity"], a["status"], a["seq"], a["event_time"]))
    return out


def memory_by_kind(client: redis.Redis, prefix: str) -> dict[str, int]:
    """Bytes (MEMORY USAGE) by key kind: tranche, issuer, deal, market, seen, alerts, outbox, and stale_quote's
    clock and stale (its index)."""
    keys = list(_keys(client, StateKeys(prefix).everything))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.memory_usage(key, samples=0)
    sizes: dict[str, int] = defaultdict(int)
    for key, size in zip(keys, pipe.execute(), strict=True):
        kind = key.decode()[len(prefix) :].split(":", 1)[0]
        sizes[kind] += int(size or 0)
    return dict(sizes)


def delete_prefix(client: redis.Redis, prefix: str) -> int:
    keys = list(_keys(client, StateKeys(prefix).everything))
    for at in range(0, len(keys), 1000):
        client.delete(*keys[at : at + 1000])
    return len(keys)
