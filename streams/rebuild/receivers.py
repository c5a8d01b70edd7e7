"""What a receiver keeps beside the nflog, restored from the rebuilt state.

The Alertmanager sink re-posts every alert it has posted firing, each re-post interval, or Alertmanager lets
it lapse (alerts/notify/alertmanager.py); which ones is a hash in Redis, lost with the rest. The rebuild
refills it from the alerts firing at the end of the replay that route to the receiver, so the re-posts go on
(posting an alert again is idempotent in Alertmanager: same labels, one alert; no new notification).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from redis.asyncio import Redis

from alerts.core.labels import LabelSource
from alerts.core.model import Alert
from alerts.keys import AlertKeys
from alerts.notify.alertmanager import am_labels, posted
from alerts.routing.routes import AlertmanagerReceiver, RoutingConfig


async def restore_alertmanager(redis: Redis, prefix: str, routing: RoutingConfig, labels: LabelSource) -> int:
    """Fills each Alertmanager receiver's firing hash; returns the alerts restored, all receivers summed."""
    names = [name for name, cfg in routing.receivers.items() if isinstance(cfg, AlertmanagerReceiver)]
    if not names:
        return 0
    rows: dict[Any, Any] = await redis.hgetall(AlertKeys(prefix).latest)
    firing = [a for a in (Alert.model_validate_json(raw) for raw in rows.values()) if a.status == "firing"]
    now = dt.datetime.now(dt.UTC)
    restored = 0
    for name in names:
        kept: dict[str, bytes] = {}
        for alert in firing:
            known = await labels.labels(alert)
            if routing.route_to(name, known) is not None:
                kept[alert.fingerprint] = orjson.dumps(posted(alert, am_labels(alert, known), now))
        if kept:
            await redis.hset(AlertKeys(prefix).alertmanager_firing(name), mapping=kept)  # type: ignore[arg-type]
        restored += len(kept)
    return restored
