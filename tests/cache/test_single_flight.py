"""Single flight: one producer per key, shared results and errors, and a cancelled producer handing over."""

from __future__ import annotations

import asyncio

import pytest

from cache.single_flight import SingleFlight


async def test_concurrent_callers_share_one_production() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    calls = 0

    async def produce() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return 42

    results = await asyncio.gather(*(flight.run("k", produce) for _ in range(5)))
    assert calls == 1 and [r[0] for r in results] == [42] * 5 and sum(r[1] for r in results) == 1


async def test_errors_are_shared() -> None:
    flight: SingleFlight[str, int] = SingleFlight()

    async def fail() -> int:
        await asyncio.sleep(0.01)
        raise LookupError("upstream said no")

    results = await asyncio.gather(*(flight.run("k", fail) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)


async def test_a_waiter_takes_over_when_the_producer_is_cancelled() -> None:
    """A producer whose own caller timed out must not hand its cancellation to everyone waiting on it."""
    flight: SingleFlight[str, str] = SingleFlight()
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(10)
        return "never"

    async def quick() -> str:
        return "fresh"

    producer = asyncio.create_task(flight.run("k", slow))
    await started.wait()
    waiter = asyncio.create_task(flight.run("k", quick))
    await asyncio.sleep(0)
    producer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await producer
    assert await asyncio.wait_for(waiter, 30) == ("fresh", True)
