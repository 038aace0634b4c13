"""The guarded upstream client: detached reads return their connections, bulkhead, circuit breaker."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from storefront.upstream_client import CircuitBreaker, UpstreamClient, UpstreamUnavailable


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_lets_one_trial_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=3, cooldown=2.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record(ok=False)
    breaker.record(ok=True)  # a success in between resets the count
    for _ in range(3):
        breaker.record(ok=False)
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 2.0
    assert breaker.state == "half-open"
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.record(ok=False)  # the trial failed: a new cooldown
    assert breaker.state == "open"
    clock.now = 4.0
    assert breaker.allow()
    breaker.record(ok=True)
    assert breaker.state == "closed" and breaker.allow()


async def test_a_caller_timeout_does_not_cancel_the_request_and_the_connection_comes_back() -> None:
    """The caller gives up; the request still completes on its own, so the pool slot is released."""
    release = asyncio.Event()
    started = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await release.wait()
        return httpx.Response(200, json={"ok": True})

    client = UpstreamClient("catalog", connections=1, timeout=30, transport=httpx.MockTransport(handler))
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await client.get("http://catalog/slow")
    await started.wait()
    assert client.in_flight == 1  # still running, detached from the caller
    with pytest.raises(UpstreamUnavailable, match="connections busy"):
        await client.get("http://catalog/next")  # the bulkhead refuses at once instead of queueing
    release.set()
    await client.wait_idle()
    response = await client.get("http://catalog/again")
    assert response.status_code == 200
    await client.aclose()


async def test_failures_open_the_circuit_and_reads_fail_fast() -> None:
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown=5.0, clock=clock)
    client = UpstreamClient(
        "pricing", connections=4, timeout=1, breaker=breaker, transport=httpx.MockTransport(handler)
    )
    for _ in range(2):
        with pytest.raises(httpx.ConnectError):
            await client.get("http://pricing/prices")
    with pytest.raises(UpstreamUnavailable, match="circuit open"):
        await client.get("http://pricing/prices")
    assert calls == 2  # the third read never reached the upstream
    assert client.status()["circuit"] == "open"
    await client.aclose()


async def test_only_unavailability_counts_against_the_circuit() -> None:
    statuses = iter([500, 502, 404, 503, 504])

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses))

    breaker = CircuitBreaker(threshold=2, clock=FakeClock())
    client = UpstreamClient(
        "checkout", connections=4, timeout=1, breaker=breaker, transport=httpx.MockTransport(handler)
    )
    for _ in range(3):
        await client.get("http://checkout/x")
    assert breaker.state == "closed"
    await client.get("http://checkout/x")
    await client.get("http://checkout/x")
    assert breaker.state == "open"
    await client.aclose()
