"""The positions file in a running worker: read at start (an invalid file stops the worker, naming each bad
line), read again on SIGHUP (an invalid file is refused and logged; the positions in force stay), and each
time the tranches it names that the state does not know are logged, since a deal may simply not have come
yet (the watchlist and the exposures list them as unknown tranches too).

A reload changes no alert: holdings reach evidence when an alert next changes (streams/engine/judge.py),
and labels and views when next asked for.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from redis.asyncio import Redis

from streams.metrics import Metrics
from streams.model.positions import PositionBook, Positions, PositionsError
from streams.state.keys import StateKeys, tranche_key

log = logging.getLogger(__name__)


def load_at_start(path: Path | None) -> PositionBook | str:
    """The book, or the message the worker exits with (every bad line, numbered)."""
    try:
        return PositionBook.load(path)
    except PositionsError as exc:
        return f"TRANCHEWATCH_POSITIONS_FILE: {exc}"


async def unknown_tranches(redis: Redis, prefix: str, positions: Positions) -> list[str]:
    """The tranches the positions name that have no state document (yet)."""
    tranches = sorted(positions.by_tranche)
    if not tranches:
        return []
    keys = StateKeys(prefix)
    async with redis.pipeline(transaction=False) as pipe:
        for tranche_id in tranches:
            pipe.exists(keys.doc(tranche_key(tranche_id)))
        found = await pipe.execute()
    return [t for t, exists in zip(tranches, found, strict=True) if not exists]


async def report(redis: Redis, prefix: str, positions: Positions | None, metrics: Metrics) -> None:
    if positions is None:
        return
    log.info(
        "positions from %s: %d rows, %d portfolios (%s)",
        positions.source,
        len(positions.rows),
        len(positions.portfolios),
        ", ".join(positions.portfolios[:10]),
    )
    unknown = await unknown_tranches(redis, prefix, positions)
    if unknown:
        log.warning(
            "positions name %d tranches the state does not know (kept: their deals may come later): %s",
            len(unknown),
            ", ".join(unknown[:20]) + (" ..." if len(unknown) > 20 else ""),
        )


def reload(book: PositionBook, metrics: Metrics | None = None) -> bool:
    """SIGHUP: the file again. Invalid, it is refused and logged with its lines; the old positions stay."""
    before = book.current
    try:
        book.reload()
    except PositionsError as exc:
        kept = f"{len(before.rows)} rows" if before is not None else "none"
        log.error("positions reload refused, the previous positions stay in force (%s): %s", kept, exc)
        if metrics is not None:
            metrics.positions_refused.set(1)
        return False
    if metrics is not None:
        metrics.positions_refused.set(0)
    return True


def install_sighup(book: PositionBook, redis: Redis, prefix: str, metrics: Metrics) -> None:
    """Reloads the positions on SIGHUP. The file is read and validated in a thread (10,000 rows take most of
    a second), so the event loop keeps consuming; the book's positions are swapped in one assignment."""
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[None]] = set()  # held until done: the loop keeps only weak references

    async def reload_and_report() -> None:
        if await asyncio.to_thread(reload, book, metrics):
            await report(redis, prefix, book.current, metrics)

    def on_hup() -> None:
        if book.path is None:
            log.info(
                "SIGHUP: no positions file is configured (TRANCHEWATCH_POSITIONS_FILE): nothing to reload"
            )
            return
        log.info("SIGHUP: reading the positions file %s again", book.path)
        task = loop.create_task(reload_and_report())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hup)
