"""The origin page cache: TTL, stale-while-revalidate, stale-if-error, purges, coalescing, memory bound."""

from __future__ import annotations

import asyncio

import pytest

from cache.page_cache import CachedPage, PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def page(
    body: bytes = b"v1", *, status: int = 200, ttl: int = 60, keys: tuple[str, ...] = ("product:1",)
) -> CachedPage:
    return CachedPage(
        status=status,
        headers=[],
        body=body,
        etag=body.hex(),
        keys=frozenset(keys),
        ttl=ttl,
        stale_while_revalidate=30,
        stale_if_error=300,
    )


class Renderer:
    def __init__(self, *bodies: bytes, delay: float = 0.0) -> None:
        self.bodies = list(bodies)
        self.calls = 0
        self.delay = delay
        self.fail = False

    async def __call__(self) -> CachedPage:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.fail:
            raise ConnectionError("upstream down")
        return page(self.bodies[min(self.calls - 1, len(self.bodies) - 1)])


async def test_miss_then_hit_until_ttl() -> None:
    clock, render = Clock(), Renderer(b"v1", b"v2")
    cache = PageCache(1 << 20, clock=clock)
    assert (await cache.get_or_render("/p", render))[1] == "MISS"
    clock.now += 59
    got, outcome = await cache.get_or_render("/p", render)
    assert (got.body, outcome, render.calls) == (b"v1", "HIT", 1)


async def test_stale_while_revalidate_serves_old_and_refreshes_in_background() -> None:
    clock, render = Clock(), Renderer(b"v1", b"v2")
    cache = PageCache(1 << 20, clock=clock)
    await cache.get_or_render("/p", render)
    clock.now += 70  # past the TTL, inside the 30 s grace
    got, outcome = await cache.get_or_render("/p", render)
    assert (got.body, outcome) == (b"v1", "STALE")
    await cache.drain()
    got, outcome = await cache.get_or_render("/p", render)
    assert (got.body, outcome) == (b"v2", "HIT")


async def test_past_grace_is_a_blocking_miss() -> None:
    clock, render = Clock(), Renderer(b"v1", b"v2")
    cache = PageCache(1 << 20, clock=clock)
    await cache.get_or_render("/p", render)
    clock.now += 100
    got, outcome = await cache.get_or_render("/p", render)
    assert (got.body, outcome) == (b"v2", "MISS")


async def test_stale_if_error_on_exceptions_and_5xx() -> None:
    clock, render = Clock(), Renderer(b"v1")
    cache = PageCache(1 << 20, clock=clock)
    await cache.get_or_render("/p", render)
    clock.now += 200  # past grace, inside stale-if-error
    render.fail = True
    got, outcome = await cache.get_or_render("/p", render)
    assert (got.body, outcome) == (b"v1", "STALE-IF-ERROR")

    async def five_hundred() -> CachedPage:
        return page(b"oops", status=503, ttl=0)

    got, outcome = await cache.get_or_render("/p", five_hundred)
    assert (got.body, outcome) == (b"v1", "STALE-IF-ERROR")
    clock.now += 1000  # past stale-if-error: the error shows
    with pytest.raises(ConnectionError):
        await cache.get_or_render("/p", render)


async def test_a_hundred_concurrent_misses_render_once() -> None:
    render = Renderer(b"v1", delay=0.05)
    cache = PageCache(1 << 20)
    results = await asyncio.gather(*(cache.get_or_render("/p", render) for _ in range(100)))
    assert render.calls == 1
    assert {r[0].body for r in results} == {b"v1"}
    assert cache.stats["coalesced"] == 99


async def test_coalesced_waiters_share_a_failure() -> None:
    render = Renderer(b"v1", delay=0.02)
    render.fail = True
    cache = PageCache(1 << 20)
    results = await asyncio.gather(*(cache.get_or_render("/p", render) for _ in range(10)), return_exceptions=True)
    assert render.calls == 1 and all(isinstance(r, ConnectionError) for r in results)


async def test_a_soft_purged_page_is_rendered_again_and_hard_purge_drops() -> None:
    clock, render = Clock(), Renderer(b"v1", b"v2", b"v3")
    cache = PageCache(1 << 20, clock=clock)
    await cache.get_or_render("/p", render)
    await cache.get_or_render("/other", Renderer(b"o"))
    assert cache.purge(["product:1"], soft=True) == 2
    got, outcome = await cache.get_or_render("/p", render)
    assert (got.body, outcome) == (b"v2", "MISS")  # never the purged copy while a render succeeds
    assert (await cache.get_or_render("/p", render))[0].body == b"v2"
    assert cache.purge(["product:1"], soft=False) == 2
    got, outcome = await cache.get_or_render("/p", render)
    assert (got.body, outcome) == (b"v3", "MISS")
    assert cache.purge(["product:999"]) == 0


async def test_a_soft_purged_page_stands_in_when_its_render_fails() -> None:
    render = Renderer(b"v1")
    cache = PageCache(1 << 20)
    await cache.get_or_render("/p", render)
    cache.purge(["product:1"], soft=True)
    render.fail = True
    got, outcome = await cache.get_or_render("/p", render)
    assert (got.body, outcome) == (b"v1", "STALE-IF-ERROR")


async def test_a_render_that_straddles_a_purge_is_rendered_again() -> None:
    """The purge-versus-fetch race: content read before the purge must not be served as fresh after it."""
    rendering, gate = asyncio.Event(), asyncio.Event()

    async def slow_render() -> CachedPage:
        rendering.set()
        await gate.wait()
        return page(b"old")

    cache = PageCache(1 << 20)
    pending = asyncio.create_task(cache.get_or_render("/p", slow_render))
    await rendering.wait()
    cache.purge(["product:1"])
    gate.set()
    await pending
    got, outcome = await cache.get_or_render("/p", Renderer(b"new"))
    assert (got.body, outcome) == (b"new", "MISS")  # never the pre-purge render
    assert (await cache.get_or_render("/p", Renderer(b"newer")))[0].body == b"new"


async def test_memory_is_bounded_by_size() -> None:
    cache = PageCache(64 * 1024)
    for i in range(100):
        await cache.get_or_render(f"/p{i}", Renderer(bytes(4096)))
    assert cache.bytes_used <= 64 * 1024
    assert 0 < len(cache) < 100
    assert cache.purge(["product:1"]) == len(cache)  # the key index forgot evicted pages


async def test_uncacheable_pages_are_not_stored() -> None:
    cache = PageCache(1 << 20)

    async def private() -> CachedPage:
        return page(b"mine", ttl=0)

    await cache.get_or_render("/cart", private)
    assert len(cache) == 0


async def test_a_degraded_render_replaces_a_copy_a_purge_made_stale() -> None:
    """The purged copy shows what changed (a price); a render missing only an optional block is better."""
    clock = Clock()
    cache = PageCache(1 << 20, clock=clock)
    old = page(b"old price", keys=("sku:1",))
    new = page(b"new price, no nav", ttl=5)
    new.degraded = True
    await cache.get_or_render("/p", lambda: _value(old))
    assert cache.purge(["sku:1"]) == 1
    got, outcome = await cache.get_or_render("/p", lambda: _value(new))
    assert (got.body, outcome) == (b"new price, no nav", "MISS")
    got, outcome = await cache.get_or_render("/p", lambda: _value(old))
    assert (got.body, outcome) == (b"new price, no nav", "HIT")  # stored in its place


async def test_a_degraded_render_never_replaces_a_good_copy_but_fills_an_empty_slot() -> None:
    clock = Clock()
    cache = PageCache(1 << 20, clock=clock)
    good = page(b"complete")
    degraded = page(b"no nav", ttl=5)
    degraded.degraded = True

    async def render_good() -> CachedPage:
        return good

    async def render_degraded() -> CachedPage:
        return degraded

    await cache.get_or_render("/p", render_good)
    clock.now += 200  # past TTL and grace: the next request renders in the foreground
    got, outcome = await cache.get_or_render("/p", render_degraded)
    assert (got.body, outcome) == (b"complete", "STALE-IF-ERROR")
    got, outcome = await cache.get_or_render("/p", render_good)
    assert (got.body, outcome) == (b"complete", "MISS")  # healed at the first complete render

    got, outcome = await cache.get_or_render("/q", render_degraded)
    assert (got.body, outcome) == (b"no nav", "MISS")  # nothing better to serve: stored with its short TTL
    clock.now += 6
    second = page(b"q complete")
    got, outcome = await cache.get_or_render("/q", lambda: _value(second))
    assert (got.body, outcome) == (b"no nav", "STALE")  # within grace; the complete render replaces it
    await cache.drain()
    got, _ = await cache.get_or_render("/q", lambda: _value(second))
    assert got.body == b"q complete"


async def _value(result: CachedPage) -> CachedPage:
    return result
