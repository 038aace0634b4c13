"""The origin's internal endpoints, behind the admin token: `/internal/purge` and `/internal/metrics`."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post

from backends.common.auth import require_token


class PurgeIn(msgspec.Struct, forbid_unknown_fields=True):
    keys: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=2048)] = []
    urls: Annotated[list[Annotated[str, msgspec.Meta(max_length=500)]], msgspec.Meta(max_length=50)] = []
    soft: bool = True


@post("/internal/purge", name="purge", guards=[require_token], status_code=200)
async def purge(request: Request[Any, Any, Any], data: PurgeIn) -> dict[str, int]:
    """Purge the origin page cache by surrogate key or URL (what the purgers call when it is the edge)."""
    state = request.app.state
    cms_keys = [key.split("@")[0] for key in data.keys if key.startswith("cms:")]
    state.cms.purge(cms_keys)
    cache = state.page_cache
    if cache is None:
        return {"purged": 0}
    removed = cache.purge(data.keys, soft=data.soft) if data.keys else 0
    removed += cache.purge_urls(data.urls) if data.urls else 0
    return {"purged": removed}


@get("/internal/metrics", name="metrics", guards=[require_token])
async def metrics(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The origin's own counters (page requests, renders, page cache outcomes), for load tests and operators."""
    state = request.app.state
    cache = state.page_cache
    return {
        "counters": dict(state.counters),
        "page_cache": None if cache is None else {**cache.stats, "entries": len(cache), "bytes": cache.bytes_used},
        "cms_served_stale": state.cms.served_stale,
    }
