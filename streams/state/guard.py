"""What stops the worker from committing state, by kind, with the operator's reason.

Two kinds today: `redis_policy` (Redis would evict keys, streams/state/redis_policy.py; lifted when the
policy is fixed) and `state_lost` (the marker is gone, streams/state/marker.py; lasts until the process
restarts after `tranchewatch rebuild`). While any reason stands, a batch is held unacknowledged as during a
Redis outage, so consumption stops where it was; `/readyz` answers 503 with the reasons.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class StateGuard:
    def __init__(self) -> None:
        self._reasons: dict[str, str] = {}

    def block(self, kind: str, reason: str) -> None:
        if self._reasons.get(kind) != reason:
            log.error("state commits stopped (%s): %s", kind, reason)
        self._reasons[kind] = reason

    def clear(self, kind: str) -> None:
        if self._reasons.pop(kind, None) is not None:
            log.warning("state commits resume: %s resolved", kind)

    @property
    def reasons(self) -> dict[str, str]:
        return dict(self._reasons)

    @property
    def blocked(self) -> bool:
        return bool(self._reasons)
