"""The origin's edge behaviour: who waits for a render slot when the origin is saturated."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace

import httpx
from litestar import Litestar, MediaType, get
from litestar.datastructures import State

from cache.page_cache import PageCache
from cache.policy import CachePolicy
from storefront.edge import PageEdgeMiddleware
from storefront.shedding import RenderLimit

PAGE = "/us/en/p/hat"


@get("/{region:str}/{lang:str}/p/{slug:str}", opt={"page": True, "query": ()}, media_type=MediaType.HTML)
async def product(slug: str, state: State) -> str:
    state.rendered.append(slug)
    return f"<h1>{slug}</h1>"


def origin(*, page_cache: PageCache | None) -> Litestar:
    """A page route behind the middleware, with one render slot and no patience for new misses."""
    state = {
        "render_limit": RenderLimit(1, max_wait=0.0),
        "counters": Counter(),
        "page_cache": page_cache,
        "settings": SimpleNamespace(refresh_wait=60.0),
        "policy": CachePolicy(),
        "rendered": [],
    }
    return Litestar([product], middleware=[PageEdgeMiddleware], state=State(state))


def _client(app: Litestar) -> httpx.AsyncClient:
    """In this event loop, so the test can hold the origin's render slot itself."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://origin")


async def _queued(limit: RenderLimit, request: asyncio.Task[httpx.Response]) -> None:
    # The limit signals nothing when a request queues; each pass hands the loop to the request's task.
    while not limit.queued and not request.done():  # noqa: ASYNC110
        await asyncio.sleep(0)


async def test_behind_an_edge_its_refresh_waits_for_a_slot_while_a_new_miss_is_refused() -> None:
    app = origin(page_cache=None)
    limit: RenderLimit = app.state.render_limit
    async with _client(app) as client:
        async with limit.slot():  # saturated
            assert (await client.get(PAGE)).status_code == 503
            refresh = asyncio.create_task(client.get(PAGE, headers={"Storefront-Refresh": "1"}))
            await _queued(limit, refresh)
            assert not refresh.done()
        answer = await refresh
    assert (answer.status_code, answer.text) == (200, "<h1>hat</h1>")
    assert limit.shed == 1


async def test_behind_an_edge_a_purged_refresh_is_rendered_before_the_other_refreshes() -> None:
    app = origin(page_cache=None)
    limit: RenderLimit = app.state.render_limit
    async with _client(app) as client:
        async with limit.slot():  # saturated: both refreshes queue
            ordinary = asyncio.create_task(client.get(f"{PAGE}-1", headers={"Storefront-Refresh": "1"}))
            await _queued(limit, ordinary)
            purged = asyncio.create_task(client.get(f"{PAGE}-2", headers={"Storefront-Refresh": "purged"}))
            while limit.queued < 2:  # noqa: ASYNC110 - see _queued
                await asyncio.sleep(0)
        assert [r.status_code for r in await asyncio.gather(ordinary, purged)] == [200, 200]
    assert app.state.rendered == ["hat-2", "hat-1"]  # the slot went to the purged one although it came second


async def test_with_the_page_cache_as_the_edge_nobody_can_claim_a_refresh() -> None:
    app = origin(page_cache=PageCache(1 << 20))
    limit: RenderLimit = app.state.render_limit
    async with _client(app) as client, limit.slot():
        forged = await client.get(PAGE, headers={"Storefront-Refresh": "1"})
    assert forged.status_code == 503 and limit.shed == 1
