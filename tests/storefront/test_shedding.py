"""Load shedding: a bounded number of renders, a short wait for a slot, then a quick refusal."""

from __future__ import annotations

import asyncio

import pytest

from storefront.shedding import Overloaded, Priority, RenderLimit, waiting_on_upstreams


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


async def test_a_freed_slot_goes_to_the_most_urgent_waiter_then_the_earliest() -> None:
    """Renders resuming after their reads, then purged refreshes, then other refreshes, then new misses."""
    limit = RenderLimit(1, max_wait=60.0)
    task, leave = await _holding_the_slot(limit)
    served: list[str] = []
    go_on = asyncio.Event()

    async def waiter(name: str, priority: Priority) -> None:
        async with limit.slot(priority=priority):
            served.append(name)
            await go_on.wait()  # one at a time: the next is chosen only when this one leaves

    queued = [
        ("miss 1", Priority.NEW),
        ("refresh 1", Priority.REFRESH),
        ("purged", Priority.PURGED),
        ("miss 2", Priority.NEW),
        ("refresh 2", Priority.REFRESH),
    ]
    tasks = []
    for name, priority in queued:
        tasks.append(asyncio.create_task(waiter(name, priority)))
        await asyncio.sleep(0)  # queued in this order
    assert limit.queued == len(queued)
    go_on.set()
    leave.set()
    await asyncio.gather(task, *tasks)
    assert served == ["purged", "refresh 1", "refresh 2", "miss 1", "miss 2"]
    assert (limit.in_flight, limit.queued, limit.shed) == (0, 0, 0)


async def test_a_render_back_from_its_reads_goes_before_every_waiting_request() -> None:
    limit = RenderLimit(1, max_wait=60.0)
    reads_done = asyncio.Event()
    order: list[str] = []

    async def render_with_reads() -> None:
        async with limit.slot():
            async with waiting_on_upstreams():
                await reads_done.wait()
            order.append("resumed")

    slow = asyncio.create_task(render_with_reads())
    await asyncio.sleep(0)
    holder, leave = await _holding_the_slot(limit)  # takes the slot the render gave back
    reads_done.set()
    await asyncio.sleep(0)  # the render now waits to take a slot again

    async def purged_refresh() -> None:
        async with limit.slot(priority=Priority.PURGED):
            order.append("purged")

    refresh = asyncio.create_task(purged_refresh())
    await asyncio.sleep(0)
    leave.set()
    await asyncio.gather(slow, holder, refresh)
    assert order == ["resumed", "purged"]


async def test_waiters_that_give_up_never_lose_a_slot() -> None:
    """A refused or cancelled waiter leaves the queue; a slot handed to one that was cancelled is passed on."""
    limit = RenderLimit(1, max_wait=0.0)
    task, leave = await _holding_the_slot(limit)
    with pytest.raises(Overloaded):
        async with limit.slot():
            pass
    cancelled = asyncio.create_task(_enter(limit))
    await asyncio.sleep(0)
    cancelled.cancel()
    patient = asyncio.create_task(_enter(limit, max_wait=60.0))
    await asyncio.sleep(0)
    leave.set()
    await task
    assert await patient == "entered"
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    async with limit.slot():  # the one slot is free again
        assert (limit.in_flight, limit.queued) == (1, 0)


async def _enter(limit: RenderLimit, max_wait: float = 60.0) -> str:
    async with limit.slot(max_wait=max_wait):
        return "entered"
