"""Why the worker is not ready: a registry of named reasons that /readyz and the ready gauge report.

Each part of the worker that can make it unfit to take traffic adds one named check (`kafka`: no
partitions assigned, `redis`: the last batch could not reach Redis or a ping fails, `fetch`: records
that cannot be fetched or decoded, ...). A check returns None when all is well, or a sentence for the
operator. /readyz answers 200 when no check has a reason, else 503 with every reason by name, so a
probe's log says which part is at fault instead of a bare "not ready".

A check that raises or takes longer than `timeout` counts as a reason (what it raised), never as ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Check = Callable[[], str | Awaitable[str | None] | None]


class Readiness:
    def __init__(self, timeout: float = 2.0) -> None:
        self._timeout = timeout
        self._checks: dict[str, Check] = {}

    def add(self, name: str, check: Check) -> None:
        """Registers `check` under `name`; checks run in the order they were added."""
        if name in self._checks:
            raise ValueError(f"readiness check {name!r} is already registered")
        self._checks[name] = check

    @property
    def names(self) -> list[str]:
        return list(self._checks)

    async def reasons(self) -> dict[str, str]:
        """Name -> reason of every check that says the worker is not ready; empty when it is."""
        found: dict[str, str] = {}
        for name, check in self._checks.items():
            reason = await self._run(check)
            if reason:
                found[name] = reason
        return found

    async def _run(self, check: Check) -> str | None:
        try:
            result = check()
            if result is None or isinstance(result, str):
                return result
            return await asyncio.wait_for(result, self._timeout)
        except TimeoutError:
            return f"check did not answer within {self._timeout:g}s"
        except Exception as exc:
            return f"check failed: {exc!r}"
