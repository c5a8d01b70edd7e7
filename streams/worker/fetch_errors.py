"""Records a partition cannot fetch or decode: held back and retried with backoff, never skipped, never fatal.

Before issue 19 one lz4 batch without its codec library raised out of faust's drain loop and stopped the
worker, and under Kubernetes it restarted into the same batch forever. Now the consumer thread
(streams/worker/faust_tuning/consumer.py) catches the failure, rewinds what the failed fetch had taken, and
tells this ledger, which
- logs it naming `topic[partition]@offset`, the kind and the error,
- counts it in `tranchewatch_fetch_errors_total{topic, kind}` (kinds bounded: FETCH_ERROR_KINDS),
- holds that partition back for a backoff that doubles per failed attempt up to `retry_max_seconds`, while
  the other partitions flow,
- gives /readyz its `fetch` reason until the partition is read past the failed offset (or is revoked).

Thread-safe: the consumer thread writes, the web server's /readyz reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

from aiokafka import errors

log = logging.getLogger(__name__)

FETCH_ERROR_KINDS: Final = (
    "unsupported_codec",
    "corrupt_record",
    "authorization",
    "record_too_large",
    "other",
)
FIRST_RETRY_SECONDS: Final = 0.5
UNKNOWN: Final = "unknown"  # the topic of a failure aiokafka did not tie to a partition


class Partition(NamedTuple):
    topic: str
    partition: int


def error_kind(exc: BaseException) -> str:
    """The bounded kind of a fetch or decode error (the metric's `kind` label)."""
    if isinstance(exc, errors.UnsupportedCodecError):
        return "unsupported_codec"
    if isinstance(exc, errors.CorruptRecordException):  # also a bad CRC
        return "corrupt_record"
    if isinstance(exc, errors.RecordTooLargeError):
        return "record_too_large"
    if "Authorization" in type(exc).__name__:
        return "authorization"
    return "other"


@dataclass(frozen=True)
class FetchFailure:
    topic: str
    partition: int
    offset: int | None  # the first record not handed over; None when the client did not say
    kind: str
    error: str

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{'?' if self.offset is None else self.offset}"


@dataclass
class _Outstanding:
    failure: FetchFailure
    attempts: int
    retry_at: float


class FetchHealth:
    def __init__(
        self,
        count: Callable[[str, str], None] | None = None,
        retry_max_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """count(topic, kind): called once per failed attempt (the metric)."""
        self._count = count
        self._retry_max = retry_max_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._outstanding: dict[Partition, _Outstanding] = {}

    def failed(self, failure: FetchFailure) -> float:
        """Records a failed attempt; returns the seconds its partition is held back before the next one."""
        tp = Partition(failure.topic, failure.partition)
        with self._lock:
            previous = self._outstanding.get(tp)
            attempts = previous.attempts + 1 if previous else 1
            delay = min(FIRST_RETRY_SECONDS * 2.0 ** (attempts - 1), self._retry_max)
            self._outstanding[tp] = _Outstanding(failure, attempts, self._clock() + delay)
        if self._count is not None:
            self._count(failure.topic, failure.kind)
        level = logging.ERROR if attempts == 1 or attempts % 10 == 0 else logging.WARNING
        log.log(
            level,
            "cannot read %s (%s, attempt %d): %s; holding the partition, retry in %.1fs, nothing skipped",
            failure.where,
            failure.kind,
            attempts,
            failure.error,
            delay,
        )
        return delay

    def held(self) -> set[Partition]:
        """The partitions still inside their backoff: not to be read yet."""
        now = self._clock()
        with self._lock:
            return {tp for tp, o in self._outstanding.items() if o.retry_at > now}

    def next_retry_in(self) -> float:
        """Seconds until the first held partition may be tried again (0 when none is held)."""
        now = self._clock()
        with self._lock:
            waits = [o.retry_at - now for o in self._outstanding.values()]
        return max(0.0, min(waits, default=0.0))

    @property
    def failing(self) -> bool:
        return bool(self._outstanding)

    def read(self, positions: Mapping[Partition, int]) -> None:
        """`positions`: partition -> the offset after the last record handed over. A partition read past
        its failed offset is healthy again; so is the unknown partition once anything is read."""
        with self._lock:
            cleared = [
                (tp, o.failure)
                for tp, o in self._outstanding.items()
                if (tp in positions and (o.failure.offset is None or positions[tp] > o.failure.offset))
                or (tp.topic == UNKNOWN and positions)
            ]
            for tp, _ in cleared:
                del self._outstanding[tp]
        for _, failure in cleared:
            log.warning(
                "%s reads again (it failed with %s): resumed where it stopped", failure.where, failure.kind
            )

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Revoked partitions: whoever owns them next retries and reports them."""
        with self._lock:
            for tp in partitions:
                self._outstanding.pop(Partition(tp[0], tp[1]), None)

    def reason(self) -> str | None:
        """The readiness check: every partition that cannot be read, or None."""
        with self._lock:
            failures = sorted(
                ((o.failure, o.attempts) for o in self._outstanding.values()),
                key=lambda fa: (fa[0].topic, fa[0].partition),
            )
        if not failures:
            return None
        return "; ".join(
            f"cannot read {f.where}: {f.kind}: {f.error} (attempt {n}, retrying)" for f, n in failures
        )
