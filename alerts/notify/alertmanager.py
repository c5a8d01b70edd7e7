"""Prometheus Alertmanager through its v2 API (`POST /api/v2/alerts`), for teams whose silences, inhibitions
and on-call integrations live there.

Alertmanager knows an alert by its label set, and forgets a firing one once its `endsAt` passes. So:
- a firing notice is posted with `endsAt` = now + 4 re-post intervals (what Prometheus does), and the sender
  calls `refresh()` every interval while it holds this receiver's lease, re-posting every alert this sink
  has posted and not yet ended: it stays active for as long as it fires, whatever `resolve_timeout` says, and
  lapses if tranchewatch stops for good;
- `severity` is a label, so an escalation ends the alert posted at the old severity and fires a new one;
- a resolution posts the posted label set again with `endsAt` set.
What is posted and firing is kept in Redis (a hash by fingerprint, written after each successful post), so a
restarted worker, or a new lease holder, re-posts it, and an Alertmanager that restarted (it keeps alerts in
memory only) gets them back on the next refresh. Posting is idempotent in Alertmanager (same labels: one
alert), so a batch sent again after a crash changes nothing. 2xx delivered; 429 and 5xx retried; the rest
permanent, as Alertmanager's own retrier decides. The URL may carry credentials: it is redacted from errors.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import aiohttp
import orjson
from redis.asyncio import Redis

from alerts.core.labels import LabelSource, OwnLabels
from alerts.core.model import Alert
from alerts.exceptions import Permanent, Retryable
from alerts.redact import redact

AmAlert = dict[str, Any]  # one element of the API's PostableAlerts
REFRESH_LIFETIMES = 4  # a firing alert outlives this many missed re-posts
_SUBJECT_LABELS = ("tranche_id", "deal_id", "issuer_id", "year", "entity_id")
_STATE_LABELS = (
    "province",
    "asset_type",
    "family",
    "portfolio",
)  # from the subject's documents (LabelSource);
# portfolio: every holder, comma-joined (match one with `portfolio=~"(.*,)?fund-a(,.*)?"` in Alertmanager)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def am_labels(alert: Alert, known: dict[str, str]) -> dict[str, str]:
    """The contract's labels: alertname (the rule), severity, fingerprint, the subject's ids, and province
    and asset type where the subject's state knows them. Empty values are left out (Alertmanager treats an
    empty label as absent)."""
    subject = alert.subject.model_dump()
    labels = {"alertname": alert.rule, "severity": alert.severity, "fingerprint": alert.fingerprint}
    labels |= {name: str(subject[name]) for name in _SUBJECT_LABELS if subject.get(name) is not None}
    labels |= {name: known[name] for name in _STATE_LABELS if known.get(name)}
    return {k: v for k, v in labels.items() if v}


def am_annotations(alert: Alert) -> dict[str, str]:
    return {"summary": alert.summary, "evidence": json.dumps(alert.evidence, sort_keys=True, default=str)}


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def posted(alert: Alert, labels: dict[str, str], now: dt.datetime) -> AmAlert:
    """What is stored for a firing alert and re-posted: startsAt is the alert's event time, never later
    than now (a quote may be stamped a few minutes ahead; Alertmanager would not show it active yet)."""
    return {
        "labels": labels,
        "annotations": am_annotations(alert),
        "startsAt": _stamp(min(alert.starts_at, now)),
    }


def firing(stored: AmAlert, now: dt.datetime, lifetime: dt.timedelta) -> AmAlert:
    return {**stored, "endsAt": _stamp(now + lifetime)}


def ended(
    stored: AmAlert, at: dt.datetime, now: dt.datetime, annotations: dict[str, str] | None = None
) -> AmAlert:
    """Ended at the event time of what ended it, but not in the future (it would stay active until then)
    and not before it started (Alertmanager refuses that)."""
    starts = dt.datetime.fromisoformat(str(stored["startsAt"]).replace("Z", "+00:00"))
    ends = max(starts, min(at, now))
    return {**stored, "annotations": annotations or stored["annotations"], "endsAt": _stamp(ends)}


def _identity(alert: AmAlert) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(alert["labels"].items()))


class AlertmanagerSink:
    name = "alertmanager"
    min_interval_seconds = 0.0

    def __init__(
        self,
        url: str,
        redis: Redis,
        key: str,
        *,
        labels: LabelSource | None = None,
        refresh_seconds: float = 60.0,
        max_batch: int = 500,
        timeout: float = 10.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._url = url
        self._endpoint = url.rstrip("/") + "/api/v2/alerts"
        self._redis = redis
        self._key = key  # hash: fingerprint -> the posted alert (labels, annotations, startsAt) while firing
        self._labels = labels or OwnLabels()
        self.refresh_seconds = refresh_seconds
        self.max_batch = max_batch
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    def resync(self) -> None:
        """Nothing to check: posting an alert again is harmless in Alertmanager."""

    async def notify(self, alerts: Sequence[Alert], title: str) -> None:
        now, lifetime = self._clock(), self._lifetime()
        raw = await self._redis.hmget(self._key, [a.fingerprint for a in alerts]) if alerts else []
        live: dict[str, AmAlert | None] = {
            a.fingerprint: orjson.loads(r) if r else None for a, r in zip(alerts, raw, strict=True)
        }
        out: dict[tuple[tuple[str, str], ...], AmAlert] = {}  # by label set: the last word on each
        for alert in alerts:
            before = live[alert.fingerprint]
            labels = am_labels(alert, await self._labels.labels(alert))
            if alert.status == "firing":
                now_posted = posted(alert, labels, now)
                if before is not None and before["labels"] != labels:
                    out[_identity(before)] = ended(before, alert.event_time, now)  # escalation
                out[_identity(now_posted)] = firing(now_posted, now, lifetime)
                live[alert.fingerprint] = now_posted
            else:
                last = before or posted(alert, labels, now)  # never posted firing: ended all the same
                ends_at = alert.ends_at or alert.event_time
                out[_identity(last)] = ended(last, ends_at, now, am_annotations(alert))
                live[alert.fingerprint] = None
        await self._post(list(out.values()))
        await self._remember(live)

    async def refresh(self) -> int:
        """Re-posts every alert this sink posted firing and has not ended; returns how many."""
        rows: dict[Any, Any] = await self._redis.hgetall(self._key)
        now, lifetime = self._clock(), self._lifetime()
        alerts = [firing(orjson.loads(raw), now, lifetime) for raw in rows.values()]
        for start in range(0, len(alerts), self.max_batch):
            await self._post(alerts[start : start + self.max_batch])
        return len(alerts)

    def _lifetime(self) -> dt.timedelta:
        return dt.timedelta(seconds=REFRESH_LIFETIMES * self.refresh_seconds)

    async def _remember(self, live: dict[str, AmAlert | None]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        gone = [fp for fp, a in live.items() if a is None]
        kept = {fp: orjson.dumps(a) for fp, a in live.items() if a is not None}
        if gone:
            pipe.hdel(self._key, *gone)
        if kept:
            pipe.hset(self._key, mapping=kept)  # type: ignore[arg-type]
        await pipe.execute()

    async def _post(self, alerts: Iterable[AmAlert]) -> None:
        body = list(alerts)
        if not body:
            return
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(self._endpoint, json=body) as response:
                status, text = response.status, (await response.text())[:300]
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise Retryable(self._redact(f"alertmanager unreachable: {exc!r}")) from None
        if 200 <= status < 300:
            return
        reason = self._redact(f"alertmanager answered {status}: {text.strip()}")
        if status == 429 or status >= 500:
            raise Retryable(reason)
        raise Permanent(reason)

    def _redact(self, text: str) -> str:
        return redact(text, [self._url])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
