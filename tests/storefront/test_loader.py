"""The page loader: reads run in parallel, each within its budget; optional failures don't fail the page."""

from __future__ import annotations

import asyncio

import pytest

from cache.keys import SurrogateKeys
from storefront.loader import PageLoad, UpstreamError


def new_load() -> PageLoad:
    return PageLoad(keys=SurrogateKeys(region="us", kind="product"))


async def sleeper(seconds: float, value: str) -> str:
    await asyncio.sleep(seconds)
    return value


async def test_reads_run_concurrently_and_are_timed() -> None:
    """Each read waits for the other to have started: only a concurrent loader can finish both."""
    load = new_load()
    started = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def meet(me: str, other: str) -> str:
        started[me].set()
        await started[other].wait()
        return me.upper()

    # Generous budgets: a loaded machine must not time a read out; a sequential loader still fails (on them).
    out = await load.gather(
        {"a": load.read("a", 30, lambda: meet("a", "b"))},
        {"b": load.read("b", 30, lambda: meet("b", "a"))},
    )
    assert out == {"a": "A", "b": "B"}
    assert sorted(name for name, _, _ in load.timings) == ["a", "b"]
    assert "a;dur=" in load.server_timing()


async def test_optional_timeout_gives_none_within_its_budget() -> None:
    load = new_load()
    out = await load.gather(
        {"a": load.read("a", 30, lambda: sleeper(0, "A"))},
        {"slow": load.read("slow", 0.05, lambda: sleeper(3600, "never"))},
    )
    assert out == {"a": "A", "slow": None}
    assert "slow;dur=" in load.server_timing() and 'desc="timeout"' in load.server_timing()
    assert load.degraded == ["slow"]  # a page without one of its optional reads is degraded


async def test_a_complete_page_is_not_degraded() -> None:
    load = new_load()
    await load.gather(
        {"a": load.read("a", 1, lambda: sleeper(0, "A"))}, {"b": load.read("b", 1, lambda: sleeper(0, "B"))}
    )
    assert load.degraded == []


async def test_critical_failure_cancels_the_rest() -> None:
    load = new_load()
    cancelled = asyncio.Event()

    async def long_optional() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "x"

    async def missing() -> str:
        raise UpstreamError("catalog", "not found", not_found=True)

    with pytest.raises(UpstreamError) as info:
        await load.gather({"product": load.read("p", 30, missing)}, {"slow": load.read("s", 30, long_optional)})
    assert info.value.not_found
    assert cancelled.is_set() and 'desc="timeout"' not in load.server_timing()  # cancelled, not left to time out


async def test_next_change_is_the_earliest() -> None:
    load = new_load()
    load.changes_at("2026-01-01T00:10:00+00:00")
    load.changes_at(None)
    load.changes_at("2026-01-01T00:05:00+00:00")
    assert load.next_change is not None and load.next_change.minute == 5
