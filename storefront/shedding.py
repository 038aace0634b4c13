"""Load shedding: at most N renders use the CPU at once; past that a request waits briefly for a slot, then
is refused with a quick 503.

A refused request costs microseconds and gets `Retry-After` (an edge serves its stale copy instead), which
beats queueing every request past its budget so that none of them succeeds. A render gives its slot back
while it waits on its upstreams: waiting costs no CPU, so renders stuck on a hung catalog cannot starve
pages that never ask the catalog (the upstream clients' own bulkheads bound how many may wait).

Behind an edge, a refresh of a copy the edge already holds may wait longer than a new miss (the caller
passes its own `max_wait`): there is one per cached object at most, and it is how purged prices come back
while the long tail of misses is being refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar


class Overloaded(Exception):
    """No render slot came free in time."""


class RenderLimit:
    def __init__(self, limit: int, max_wait: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._max_wait = max_wait
        self._slots = asyncio.Semaphore(limit)
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
    async def slot(self, max_wait: float | None = None) -> AsyncIterator[None]:
        """A render slot, waited for at most `max_wait` (the limit's own by default) before `Overloaded`."""
        if self._slots.locked():
            self.queued += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), self._max_wait if max_wait is None else max_wait)
            except TimeoutError:
                self.shed += 1
                self.last_shed_at = self._clock()
                raise Overloaded from None
            finally:
                self.queued -= 1
        else:
            await self._slots.acquire()
        self.in_flight += 1
        token = _holder.set(self)
        try:
            yield
        finally:
            _holder.reset(token)
            self.in_flight -= 1
            self._slots.release()

    @asynccontextmanager
    async def released(self) -> AsyncIterator[None]:
        """Give the slot held by this render back for a while, and take one again after."""
        self.in_flight -= 1
        self.waiting_on_upstreams += 1
        self._slots.release()
        try:
            yield
        finally:
            # A render already under way finishes rather than being shed halfway: no timeout here.
            await self._slots.acquire()
            self.waiting_on_upstreams -= 1
            self.in_flight += 1


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
