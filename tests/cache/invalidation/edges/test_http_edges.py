"""Fastly and Cloudflare adapters against a local HTTP server that checks what their APIs document."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from cache.invalidation.edges.base import EdgeError
from cache.invalidation.edges.cloudflare import CloudflareAdapter
from cache.invalidation.edges.fastly import FastlyAdapter
from tests.edge_config.conftest import Recorder, recorder  # noqa: F401 - the fixture

OK = (200, {"Content-Type": "application/json"}, b'{"status": "ok"}')


async def test_fastly_batches_of_256_region_qualified_keys_with_soft_purge(
    recorder: Callable[..., Recorder],  # noqa: F811
) -> None:
    api = recorder(lambda request: OK)
    async with httpx.AsyncClient() as client:
        adapter = FastlyAdapter("svc123", "fastly-token", client, api.url)
        keys = [f"product:{i}" for i in range(600)]
        assert await adapter.purge("eu", keys, [], soft=True) == 600
    assert [r["method"] for r in api.requests] == ["POST"] * 3
    assert {r["path"] for r in api.requests} == {"/service/svc123/purge"}
    batches = [json.loads(r["body"])["surrogate_keys"] for r in api.requests]
    assert [len(b) for b in batches] == [256, 256, 88]
    assert batches[0][0] == "product:0@eu"
    for request in api.requests:
        assert request["headers"]["fastly-key"] == "fastly-token"
        assert request["headers"]["fastly-soft-purge"] == "1"
        assert request["headers"]["content-type"] == "application/json"


async def test_fastly_hard_purge_has_no_soft_header(recorder: Callable[..., Recorder]) -> None:  # noqa: F811
    api = recorder(lambda request: OK)
    async with httpx.AsyncClient() as client:
        await FastlyAdapter("svc", "t", client, api.url).purge("us", ["nav"], [], soft=False)
    assert "fastly-soft-purge" not in api.requests[0]["headers"]


async def test_cloudflare_batches_of_100_tags_with_a_bearer_token(recorder: Callable[..., Recorder]) -> None:  # noqa: F811
    api = recorder(lambda request: OK)
    async with httpx.AsyncClient() as client:
        adapter = CloudflareAdapter("zone9", "cf-token", client, api.url, rate_per_second=1000, burst=10)
        assert await adapter.purge("apac", [f"price:SKU-{i}" for i in range(250)], [], soft=True) == 250
    assert {r["path"] for r in api.requests} == {"/zones/zone9/purge_cache"}
    assert [len(json.loads(r["body"])["tags"]) for r in api.requests] == [100, 100, 50]
    assert all(r["headers"]["authorization"] == "Bearer cf-token" for r in api.requests)
    assert json.loads(api.requests[0]["body"])["tags"][0] == "price:SKU-0@apac"


async def test_cloudflare_rate_limit_is_an_error_to_retry(recorder: Callable[..., Recorder]) -> None:  # noqa: F811
    api = recorder(lambda request: (429, {"Content-Type": "application/json"}, b"{}"))
    async with httpx.AsyncClient() as client:
        with pytest.raises(EdgeError, match="rate limited"):
            await CloudflareAdapter("z", "t", client, api.url).purge("us", ["nav"], [], soft=False)


async def test_cloudflare_paces_requests_with_its_token_bucket(recorder: Callable[..., Recorder]) -> None:  # noqa: F811
    api = recorder(lambda request: OK)
    async with httpx.AsyncClient() as client:
        adapter = CloudflareAdapter("z", "t", client, api.url, rate_per_second=20, burst=1)
        await adapter.purge("us", [f"k{i}" for i in range(300)], [], soft=False)
    assert len(api.requests) == 3
    assert adapter._tokens < 1  # the bucket was drained and refilled between batches
