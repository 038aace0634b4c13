"""Load shedding: a bounded number of renders, a short wait for a slot, then a quick refusal."""

from __future__ import annotations

import asyncio

import pytest

from storefront.shedding import Overloaded, RenderLimit, waiting_on_upstreams


async def test_past_the_limit_requests_are_refused_and_reported() -> None:
    now = [100.0]
    limit = RenderLimit(2, max_wait=0.0, clock=lambda: now[0])
    hold = asyncio.Event()
    inside = [asyncio.Event(), asyncio.Event()]

    async def render(entered: asyncio.Event) -> None:
        async with limit.slot():
            entered.set()
            await hold.wait()

    tasks = [asyncio.create_task(render(entered)) for entered in inside]
    await asyncio.gather(*(entered.wait() for entered in inside))
    assert limit.in_flight == 2 and not limit.shedding()
    with pytest.raises(Overloaded):
        async with limit.slot():
            pass
    assert limit.shed == 1 and limit.shedding()
    hold.set()
    await asyncio.gather(*tasks)
    async with limit.slot():  # capacity is back
        assert limit.in_flight == 1
    now[0] += 5
    assert not limit.shedding()


async def _holding_the_slot(limit: RenderLimit) -> tuple[asyncio.Task[None], asyncio.Event]:
    """A render that holds a slot until the returned event is set."""
    entered = asyncio.Event()
    leave = asyncio.Event()

    async def holder() -> None:
        async with limit.slot():
            entered.set()
            await leave.wait()

    task = asyncio.create_task(holder())
    await entered.wait()
    return task, leave


async def test_a_waiter_gets_a_slot_that_frees_within_its_wait() -> None:
    limit = RenderLimit(1, max_wait=60.0)
    task, leave = await _holding_the_slot(limit)

    async def waiter() -> str:
        async with limit.slot():
            return "served"

    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    leave.set()
    assert await waiting == "served"
    await task
    assert limit.shed == 0


async def test_a_caller_with_its_own_wait_outlasts_the_default_refusal() -> None:
    """The edge's refreshes of copies it holds wait longer than new misses, which are refused at once."""
    limit = RenderLimit(1, max_wait=0.0)
    task, leave = await _holding_the_slot(limit)

    async def refresh() -> str:
        async with limit.slot(max_wait=60.0):
            return "refreshed"

    waiting = asyncio.create_task(refresh())
    await asyncio.sleep(0)
    with pytest.raises(Overloaded):  # a new miss, meanwhile, is refused
        async with limit.slot():
            pass
    leave.set()
    assert await waiting == "refreshed"
    await task
    assert limit.shed == 1


async def test_a_render_waiting_on_upstreams_frees_its_slot_for_others() -> None:
    limit = RenderLimit(1, max_wait=0.0)
    reads_started = asyncio.Event()
    reads_done = asyncio.Event()

    async def render_waiting_on_a_slow_upstream() -> str:
        async with limit.slot():
            async with waiting_on_upstreams():
                reads_started.set()
                await reads_done.wait()
            return "slow page"

    slow = asyncio.create_task(render_waiting_on_a_slow_upstream())
    await reads_started.wait()
    assert (limit.in_flight, limit.waiting_on_upstreams) == (0, 1)
    async with limit.slot():  # another page renders meanwhile; nothing is shed
        pass
    reads_done.set()
    assert await slow == "slow page"
    assert (limit.in_flight, limit.waiting_on_upstreams, limit.shed) == (0, 0, 0)


async def test_outside_a_render_waiting_on_upstreams_is_a_no_op() -> None:
    async with waiting_on_upstreams():
        pass
