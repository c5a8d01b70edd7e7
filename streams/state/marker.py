"""The state marker: proof that Redis still holds the state the consumer group's offsets stand for.

Kafka remembers how far the group has read; Redis holds what that reading built. A restart without
persistence, a failover to an empty replica or a FLUSH empties Redis while the offsets stay, and a worker
that carried on would judge every new event on a blank state and notify again what it already sent.

The hash `state:marker` {status, since, by, commits} is written by the first commit, inside the commit
script (streams/state/store.py), and each later commit checks it there and counts itself in it:

- `create`: a worker whose group has no committed offsets (a first start) may create it;
- `expect`: every other worker commits only while it says `live`; gone, the script writes nothing and
  answers `lost`, the worker stops consuming (StateGuard) and says what to run;
- `rebuild`: `tranchewatch rebuild` sets `rebuilding` with a token of its own, commits under that token,
  and sets `live` when the replay is complete. Workers refuse a `rebuilding` state.

The per-partition offsets the commits record (bounded duplicate detection, issue 17) belong beside this
marker: the marker says the state exists, the offsets say how far it goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from streams.state.keys import StateKeys

LIVE = "live"
REBUILDING = "rebuilding"
STATE_LOST = "state_lost"  # the StateGuard kind and the metric's reason label


class StateLost(Exception):
    """The commit script found the marker missing (or rebuilding): nothing of the batch was written."""


@dataclass(frozen=True)
class MarkerMode:
    kind: Literal["create", "expect", "rebuild"]
    token: str = ""  # the rebuild's own, for kind "rebuild"

    def payload(self) -> dict[str, str]:
        return {"marker": self.kind, "token": self.token}


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_marker(raw: dict[bytes, bytes] | dict[str, str]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


def what_to_run(prefix: str) -> str:
    return (
        "stop the workers, run `tranchewatch rebuild` (it replays the input topics into an empty state "
        f"under {prefix!r} without notifying again what abs.alerts shows as sent), then start the workers"
    )


def start_mode(marker: dict[str, str], group_has_offsets: bool, prefix: str) -> tuple[MarkerMode, str | None]:
    """How this worker commits, and why it must not (None: it may) — decided before it consumes."""
    status = marker.get("status")
    if status == LIVE:
        return MarkerMode("expect"), None
    if status == REBUILDING:
        return MarkerMode("expect"), (
            f"a rebuild of the state under {prefix!r} is in progress or was interrupted (marker rebuilding "
            "since "
            + marker.get("since", "?")
            + "): let `tranchewatch rebuild` finish, then start the workers"
        )
    if group_has_offsets:
        return MarkerMode("expect"), lost_reason(prefix, "at start")
    return MarkerMode("create"), None  # a first start: the first commit creates the marker


def lost_reason(prefix: str, when: str) -> str:
    return (
        f"Redis lost the state ({when}: the marker {StateKeys(prefix).marker} is gone while the consumer group "
        "has committed offsets; a restart without persistence, a failover to an empty replica or a FLUSH); "
        f"consumption stopped, nothing was written. To recover: {what_to_run(prefix)}"
    )
