"""One upstream's HTTP client: its own connection pool (a bulkhead), a circuit breaker, and reads that a
caller's timeout never cancels inside the client library.

Why each part:
- Own pool per upstream: a hung catalog can hold every one of its connections and CMS reads still flow.
- Detached requests: cancelling an httpx request while the pool is contended can leak its pool slot for
  good (encode/httpcore#1093). A caller that gives up stops waiting, but the request itself runs on as a
  task until httpx's own timeout ends it cleanly, so every connection goes back to its pool.
- Bulkhead limit: never more requests in flight than connections, so nothing queues inside httpcore;
  past the limit a read fails at once instead of waiting out its budget.
- Circuit breaker: after consecutive failures the upstream is not asked for `cooldown` seconds, so pages
  fail fast (and edges serve stale copies) instead of every render waiting its whole budget.
- With a tracer, each request is a client span (a child of whatever span is current: the page's) and carries
  its `traceparent`, so the upstream's server span joins the page's trace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from opentelemetry.trace import SpanKind, StatusCode, Tracer

from backends.common.traces import inject

BreakerState = Literal["closed", "open", "half-open"]
# (upstream, outcome, seconds) for each read: the origin's metrics (storefront/metrics.py).
Observer = Callable[[str, str, float], None]


class UpstreamUnavailable(httpx.TransportError):
    """Refused without asking the upstream: its circuit is open or all its connections are busy."""


@dataclass
class CircuitBreaker:
    """Opens after `threshold` consecutive failures; after `cooldown` seconds lets one trial through."""

    threshold: int = 5
    cooldown: float = 2.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    _trial_running: bool = field(default=False, repr=False)

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.cooldown else "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def record(self, ok: bool) -> None:
        self._trial_running = False
        if ok:
            self.failures = 0
            self.opened_at = None
            return
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = self.clock()  # (re)open: a failed trial starts a new cooldown


class UpstreamClient:
    """`get` and `request` as on `httpx.AsyncClient`, guarded as described in the module docstring."""

    def __init__(
        self,
        name: str,
        *,
        connections: int,
        timeout: float,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        tracer: Tracer | None = None,
        observe: Observer | None = None,
    ) -> None:
        self.name = name
        self._tracer = tracer
        self._observe = observe
        self._limit = connections
        self._client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )
        self.breaker = breaker or CircuitBreaker()
        self._tasks: set[asyncio.Task[httpx.Response]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def status(self) -> dict[str, Any]:
        return {"circuit": self.breaker.state, "in_flight": self.in_flight, "connections": self._limit}

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        if len(self._tasks) >= self._limit:
            self._observed("unavailable", started)
            raise UpstreamUnavailable(f"{self.name}: all {self._limit} connections busy")
        if not self.breaker.allow():
            self._observed("unavailable", started)
            raise UpstreamUnavailable(f"{self.name}: circuit open after repeated failures")
        task = asyncio.create_task(self._send(method, url, kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        try:
            # The shield is the point: our caller's timeout cancels only its wait, never the request.
            response = await asyncio.shield(task)
        except asyncio.CancelledError:  # the page stopped waiting: its budget ran out (or a critical read failed)
            self._observed("timeout", started)
            raise
        except httpx.TimeoutException:
            self._observed("timeout", started)
            raise
        except Exception:
            self._observed("error", started)
            raise
        self._observed("ok" if response.status_code < 500 else "error", started)
        return response

    def _observed(self, outcome: str, started: float) -> None:
        if self._observe is not None:
            self._observe(self.name, outcome, time.perf_counter() - started)

    async def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> httpx.Response:
        if self._tracer is None:
            return await self._guarded(method, url, kwargs)
        with self._tracer.start_as_current_span(f"{method} {self.name}", kind=SpanKind.CLIENT) as span:
            span.set_attributes({"http.request.method": method, "server.address": self.name})
            headers = dict(kwargs.pop("headers", None) or {})
            inject(headers)
            response = await self._guarded(method, url, {**kwargs, "headers": headers})
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(StatusCode.ERROR)
            return response

    async def _guarded(self, method: str, url: str, kwargs: dict[str, Any]) -> httpx.Response:
        try:
            response = await self._client.request(method, url, **kwargs)
        except httpx.HTTPError:
            self.breaker.record(ok=False)
            raise
        # Only "not there" answers count against the circuit; a 500 or a checkout's 502 (payment provider) is
        # an answer, and opening the circuit would not help it.
        self.breaker.record(ok=response.status_code not in (503, 504))
        return response

    def _finished(self, task: asyncio.Task[httpx.Response]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved here: a caller that gave up will never look at it

    async def wait_idle(self) -> None:
        """Until every detached request has finished (each is bounded by the client's timeout)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        await self.wait_idle()
        await self._client.aclose()
