"""The one path for every read that needs the whole market: the watchlist and tranche lists, the exposures,
the web page at `/` built from them, the exposure gauges. (An issuer's or a deal's rows read only their own
documents: StateReader.view_of.)

At 15,000 tranches such a read is 23 MiB of documents and tens of seconds of parsing on a loaded machine
(BENCHMARKS.md, "Exposure gauges" and "Read endpoints off the loop"). Done on the worker's event loop it
stalled the loop that long: /healthz past its 10 s, no events handled, Kafka session timeouts. So:

- the documents are read on the loop (StateReader.raw_view: SCAN and HGETs in pipelines of a thousand, so the
  loop runs between them), and parsing them and computing the answer (rows, sums, the rendered page) run in
  a thread (`asyncio.to_thread`), so the loop keeps handling events and answering /healthz meanwhile;
- at most one such scan runs at a time per worker (a lock shared by the HTTP API, the web pages and the
  exposure gauges): a burst of page loads waits its turn instead of multiplying the reads and the parsing;
- an answer is kept `ttl_seconds` (TRANCHEWATCH_SCAN_CACHE_SECONDS, 3 s by default) under its request's key
  (endpoint and normalised parameters, and the positions in force), so a burst of the same request does the
  work once; a different request, or the same one later, reads the state afresh. 0 keeps nothing.

The cache holds answers (a page of rows, a rendered page, a few sums), never the parsed market: the parsed
documents are garbage as soon as an answer is computed.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from streams.model.positions import Positions
from streams.views.watchlist import MarketView

T = TypeVar("T")
A = TypeVar("A")

CACHED_ANSWERS = 32  # distinct requests kept at once (each a page of rows at most); the oldest go first


class ViewDocuments(Protocol):
    """Documents as read, parsed on demand (streams/state/reader.py's RawView): the parsing is the CPU work
    that runs in the thread."""

    def parse(self) -> MarketView: ...


class ViewSource(Protocol):
    """What a scan reads: StateReader, or an in-memory source in tests and the backtest."""

    async def raw_view(self) -> ViewDocuments: ...


@dataclass(frozen=True)
class ParsedView:
    """A market already in memory (a replay, a test's fixture), as a ViewSource gives it."""

    view: MarketView

    def parse(self) -> MarketView:
        return self.view


async def _nothing() -> None:
    return None


class MarketScan:
    def __init__(
        self,
        source: ViewSource,
        positions: Callable[[], Positions | None] = lambda: None,
        ttl_seconds: float = 0.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        """`positions`: the holdings in force, asked for on every request (a SIGHUP reload shows at the next
        one); when it gives None the view keeps what the source attached."""
        self.source = source
        self.positions = positions
        self.ttl = ttl_seconds
        self._now = now
        # One scan at a time per worker. Created here, bound to the loop at its first contended use.
        self._gate = asyncio.Lock()
        self._kept: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.scans = 0  # full reads done (not answered from the cache): for tests and the measure script

    async def run(self, key: Hashable, work: Callable[[MarketView], T]) -> T:
        """`work(view)` on the whole market, in a thread; the answer kept under `key` for the TTL."""
        return await self.run_with(key, _nothing, lambda view, _: work(view))

    async def run_with(
        self, key: Hashable, read: Callable[[], Awaitable[A]], work: Callable[[MarketView, A], T]
    ) -> T:
        """As `run`, with something else read on the loop first (only when the answer is not kept): the
        firing alerts of the web page, say; `work` gets it beside the view."""
        positions = self.positions()
        # The positions object in the key: a reload is a new object, so a kept answer never shows old
        # holdings. The entry holds the object, so its id cannot be reused while the entry lives.
        full_key = (key, id(positions))
        kept = self._kept_answer(full_key)
        if kept is not None:
            return kept[0]  # type: ignore[no-any-return]
        async with self._gate:
            kept = self._kept_answer(full_key)  # computed by the request we waited behind
            if kept is not None:
                return kept[0]  # type: ignore[no-any-return]
            extra = await read()
            documents = await self.source.raw_view()
            self.scans += 1
            answer = await asyncio.to_thread(_parsed_and_worked, documents, positions, extra, work)
            if self.ttl > 0:
                self._keep(full_key, (answer, positions))
            return answer

    def _kept_answer(self, key: Hashable) -> tuple[Any, Positions | None] | None:
        found = self._kept.get(key)
        if found is None:
            return None
        at, value = found
        if self._now() - at > self.ttl:
            del self._kept[key]
            return None
        return value  # type: ignore[no-any-return]

    def _keep(self, key: Hashable, value: tuple[Any, Positions | None]) -> None:
        now = self._now()
        for old in [k for k, (at, _) in self._kept.items() if now - at > self.ttl]:
            del self._kept[old]
        self._kept[key] = (now, value)
        self._kept.move_to_end(key)
        while len(self._kept) > CACHED_ANSWERS:
            self._kept.popitem(last=False)


def _parsed_and_worked(
    documents: ViewDocuments, positions: Positions | None, extra: A, work: Callable[[MarketView, A], T]
) -> T:
    # The cyclic collector paused meanwhile: parsing allocates millions of objects, which sets off full
    # collections, each walking the whole growing market while holding the GIL; the loop stalled a second and
    # more per collection at 4,000 tranches (BENCHMARKS.md, Read endpoints off the loop). The parsed market
    # is plain data without reference cycles, so reference counting frees it as soon as the answer is
    # computed, before collection resumes. Scans run one at a time, so only one thread pauses and resumes it.
    paused = gc.isenabled()
    gc.disable()
    try:
        view = documents.parse()
        if positions is not None:
            view.positions = positions
        answer = work(view, extra)
        del view
        return answer
    finally:
        if paused:
            gc.enable()
