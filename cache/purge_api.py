"""The editor purge API: `POST /admin/purges` (202 with an id) and `GET /admin/purges/{id}` (the receipt)."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException

from backends.common import invalid, require_token
from backends.common.auth import bearer_token
from cache.invalidator import edge_targets
from cache.purge_store import PurgeSpec, PurgeStore

KEY_PATTERN = r"^[A-Za-z0-9:_.@-]{1,200}$"
MAX_KEYS = 256


class PurgeIn(msgspec.Struct, forbid_unknown_fields=True):
    regions: (
        Literal["all"]
        | Annotated[list[Annotated[str, msgspec.Meta(max_length=16)]], msgspec.Meta(min_length=1, max_length=50)]
    )
    keys: Annotated[list[Annotated[str, msgspec.Meta(pattern=KEY_PATTERN)]], msgspec.Meta(max_length=MAX_KEYS)] = []
    urls: Annotated[list[Annotated[str, msgspec.Meta(pattern=r"^/[^\s]{0,500}$")]], msgspec.Meta(max_length=50)] = []
    soft: bool = True


class RateLimiter:
    """A token bucket per bearer token: `rate` purges a second, bursts of twice that."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.buckets: dict[str, tuple[float, float]] = {}

    def allow(self, token: str) -> bool:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        tokens, last = self.buckets.get(key, (self.rate * 2, now))
        tokens = min(self.rate * 2, tokens + (now - last) * self.rate)
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return False
        self.buckets[key] = (tokens - 1, now)
        return True


@post("/hooks/cms", status_code=202)
async def cms_webhook(request: Request[Any, Any, State], state: State) -> Response[dict[str, Any]]:
    """The CMS says it published: read its outbox now. Signed (HMAC, timestamp); replays are refused."""
    body = await request.body()
    refusal = state.webhook_guard.verify(request.headers.get("x-signature", ""), body)
    if refusal is not None:
        status = 409 if refusal == "replayed" else 401
        raise HTTPException(status_code=status, detail=f"Webhook refused: {refusal}.")
    state.outbox_wake.set()
    return Response({"accepted": True}, status_code=202)


class PurgeController(Controller):
    path = "/admin/purges"
    guards = [require_token]

    @post("/")
    async def create(self, request: Request[Any, Any, State], state: State, data: PurgeIn) -> Response[dict[str, Any]]:
        """Queue a purge of keys or URLs in some regions (or all); soft by default. Answers 202 and an id."""
        limiter: RateLimiter = state.rate_limiter
        if not limiter.allow(bearer_token(request)):
            raise HTTPException(status_code=429, detail="Too many purges; slow down.", headers={"Retry-After": "1"})
        if not data.keys and not data.urls:
            raise invalid("keys", "name keys or urls to purge", source="body")
        catalogue = state.settings.regions
        regions = catalogue.codes if data.regions == "all" else tuple(dict.fromkeys(data.regions))
        unknown = [r for r in regions if catalogue.get(r) is None]
        if unknown:
            raise invalid("regions", f"unknown region(s) {', '.join(unknown)}", source="body")
        store: PurgeStore = state.purge_store
        purge_id, _ = await store.record(
            PurgeSpec(
                keys=tuple(data.keys),
                urls=tuple(data.urls),
                targets=tuple(edge_targets(state.settings, regions)),
                soft=data.soft,
                source="api",
                followup_after=timedelta(seconds=state.settings.followup_delay),
            )
        )
        state.purge_signal.set()
        return Response({"id": purge_id, "receipt": f"/admin/purges/{purge_id}"}, status_code=202)

    @get("/{purge_id:str}")
    async def read(self, state: State, purge_id: str) -> dict[str, Any]:
        """When each region's edges acknowledged the purge, and how many objects they dropped."""
        store: PurgeStore = state.purge_store
        found = await store.receipt(purge_id[:36])
        if found is None:
            raise NotFoundException(detail=f"No purge {purge_id!r}.")
        return found
