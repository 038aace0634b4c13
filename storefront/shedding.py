"""Load shedding: at most N renders use the CPU at once; past that a request waits briefly for a slot, then
is refused with a quick 503.

A refused request costs microseconds and gets `Retry-After` (an edge serves its stale copy instead), which
beats queueing every request past its budget so that none of them succeeds. A render gives its slot back
while it waits on its upstreams: waiting costs no CPU, so renders stuck on a hung catalog cannot starve
pages that never ask the catalog (the upstream clients' own bulkheads bound how many may wait).

Slots go to waiters by priority, then in arrival order: a render taking its slot back after its reads (it is
half done), then an edge's refresh of a copy a purge marked stale (a changed price must come back first), then
any other refresh of a copy the edge holds (one per cached object at most), then new misses. Refreshes may
also wait longer than misses (the caller passes its own `max_wait`): under overload the long tail of misses is
refused while what shoppers already see is kept current.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from enum import IntEnum


class Overloaded(Exception):
    """No render slot came free in time."""


class Priority(IntEnum):
    """Who gets the next free slot: the lowest value first."""

    RESUMING = 0  # a render taking its slot back after waiting on its upstreams
    PURGED = 1  # an edge refreshing a copy that a purge (or a fetch straddling one) made stale
    REFRESH = 2  # an edge refreshing a copy it holds
    NEW = 3  # everything else


class RenderLimit:
    def __init__(self, limit: int, max_wait: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._max_wait = max_wait
        self._free = limit
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._clock = clock
        self.in_flight = 0  # renders holding a slot
        self.waiting_on_upstreams = 0  # renders that gave theirs back while their reads run
        self.queued = 0  # requests waiting for a slot
        self.shed = 0
        self.last_shed_at = float("-inf")

    def shedding(self, within: float = 2.0) -> bool:
        """Whether a request was refused in the last `within` seconds (what the readiness check reports)."""
        return self._clock() - self.last_shed_at < within

    @asynccontextmanager
    async def slot(self, max_wait: float | None = None, priority: Priority = Priority.NEW) -> AsyncIterator[None]:
        """A render slot, waited for at most `max_wait` (the limit's own by default) before `Overloaded`."""
        try:
            await self._acquire(priority, self._max_wait if max_wait is None else max_wait)
        except Overloaded:
            self.shed += 1
            self.last_shed_at = self._clock()
            raise
        self.in_flight += 1
        token = _holder.set(self)
        try:
            yield
        finally:
            _holder.reset(token)
            self.in_flight -= 1
            self._release()

    @asynccontextmanager
    async def released(self) -> AsyncIterator[None]:
        """Give the slot held by this render back for a while, and take one again after."""
        self.in_flight -= 1
        self.waiting_on_upstreams += 1
        self._release()
        try:
            yield
        finally:
            # A render already under way finishes rather than being shed halfway: first in line, no timeout.
            await self._acquire(Priority.RESUMING, None)
            self.waiting_on_upstreams -= 1
            self.in_flight += 1

    async def _acquire(self, priority: Priority, max_wait: float | None) -> None:
        if self._free > 0:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), waiter))
        timer = None if max_wait is None else asyncio.get_running_loop().call_later(max_wait, _expire, waiter)
        self.queued += 1
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release()  # handed a slot just as the caller gave up: pass it on
            raise
        finally:
            self.queued -= 1
            if timer is not None:
                timer.cancel()

    def _release(self) -> None:
        """Hand the slot to the first waiter still waiting, or put it back."""
        while self._waiters:
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(Overloaded())


_holder: ContextVar[RenderLimit | None] = ContextVar("render_limit_holder", default=None)


@asynccontextmanager
async def waiting_on_upstreams() -> AsyncIterator[None]:
    """Around a render's upstream reads: the render's slot (if it holds one) is free meanwhile."""
    limit = _holder.get()
    if limit is None:
        yield
        return
    async with limit.released():
        yield
