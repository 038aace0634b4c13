"""The CMS client: fresh reuse, last good copy on errors, one fetch for concurrent readers, purge."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from cms_client import CmsClient, CmsUnavailable


class FakeCms:
    def __init__(self) -> None:
        self.calls = 0
        self.down = False
        self.title = "v1"

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        await asyncio.sleep(0.01)
        if self.down:
            return httpx.Response(503)
        return httpx.Response(200, json={"items": [{"id": 3, "fields": {"title": self.title}}], "next_change_at": None})


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts() -> tuple[FakeCms, Clock, CmsClient]:
    cms, clock = FakeCms(), Clock()
    client = httpx.AsyncClient(transport=httpx.MockTransport(cms))
    return cms, clock, CmsClient(client, "http://cms", fresh_ttl=1.0, clock=clock)


async def test_fresh_copies_are_reused_then_refetched(parts: tuple[FakeCms, Clock, CmsClient]) -> None:
    cms, clock, client = parts
    await client.entries("en-US", type="hero")
    await client.entries("en-US", type="hero")
    assert cms.calls == 1
    clock.now += 2
    cms.title = "v2"
    assert (await client.entries("en-US", type="hero"))["items"][0]["fields"]["title"] == "v2"


async def test_last_good_copy_when_the_cms_fails(parts: tuple[FakeCms, Clock, CmsClient]) -> None:
    cms, clock, client = parts
    await client.entries("en-US", type="hero")
    clock.now += 100
    cms.down = True
    assert (await client.entries("en-US", type="hero"))["items"][0]["fields"]["title"] == "v1"
    assert client.served_stale == 1
    with pytest.raises(CmsUnavailable):
        await client.entries("de-DE", type="hero")  # never fetched: nothing to fall back on


async def test_concurrent_readers_share_one_fetch(parts: tuple[FakeCms, Clock, CmsClient]) -> None:
    cms, _, client = parts
    await asyncio.gather(*(client.entries("en-US", type="promo") for _ in range(20)))
    assert cms.calls == 1


async def test_purge_forces_a_refetch(parts: tuple[FakeCms, Clock, CmsClient]) -> None:
    cms, _, client = parts
    await client.entries("en-US", type="hero")
    assert client.purge(["cms:3"]) == 1
    cms.title = "v2"
    assert (await client.entries("en-US", type="hero"))["items"][0]["fields"]["title"] == "v2"
