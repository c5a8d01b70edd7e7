from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal, TypeVar

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T | Literal[False] | None],
    timeout: float = 60.0,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """Polls until probe() is truthy; the tests' only notion of time, and generous, since machines are noisy."""
    deadline = time.monotonic() + timeout
    last = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value {last!r}")
        time.sleep(interval)
        last = probe()
    return last  # truthy, so neither False nor None
