"""The editor purge API: `POST /admin/purges` (202 with an id) and `GET /admin/purges/{id}` (the receipt)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import httpx
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Parameter

from backends.common import invalid, require_token
from backends.common.auth import bearer_token
from backends.common.db import utcnow
from backends.common.openapi import problems
from backends.common.params import REGION_CODE, URL_PATH
from backends.common.traces import current_traceparent
from cache.invalidation.fanout import Fanout
from cache.invalidation.store import PurgeSpec, PurgeStore
from cache.invalidation.targets import EdgeId

KEY_PATTERN = r"^[A-Za-z0-9:_.@-]{1,200}$"
MAX_KEYS = 256


class PurgeAccepted(msgspec.Struct):
    id: str
    receipt: str  # the path of the receipt: when each region's edges acknowledged


class EdgeCheck(msgspec.Struct):
    """With `check=`: whether what the edge serves now was fetched after it acknowledged the purge."""

    confirmed: bool
    reason: str | None = None  # why nothing was fetched (not acknowledged, no URL, a transport error)
    status: int | None = None
    age: int | None = None
    etag: str | None = None
    x_cache: str | None = None


class EdgeDelivery(msgspec.Struct):
    edge: str
    acknowledged_at: str | None
    removed: int | None  # objects the edge dropped, when it says
    attempts: int
    last_error: str | None
    check: EdgeCheck | None = None


class RegionReceipt(msgspec.Struct):
    acknowledged_at: str | None  # when the last of its edges acknowledged; None until all have
    edges: list[EdgeDelivery]


class PurgeReceipt(msgspec.Struct):
    id: str
    keys: list[str]
    urls: list[str]
    soft: bool
    source: str
    created_at: str
    complete: bool
    regions: dict[str, RegionReceipt]


class Accepted(msgspec.Struct):
    accepted: bool


class ParkedEvent(msgspec.Struct):
    """An outbox event no planner could read (unknown type, malformed payload): skipped, kept here to look at."""

    service: str
    seq: int | None
    id: str | None
    type: str | None
    reason: str


class EdgeKindStatus(msgspec.Struct):
    by_key: bool  # False: purges paths only, keys turned into paths
    followup: bool  # key purges delivered a second time


class Counters(msgspec.Struct):
    counters: dict[str, int]
    parked: list[ParkedEvent] = []  # the most recent, oldest first
    edges: dict[str, EdgeKindStatus] = {}  # the configured edge kinds


class PurgeIn(msgspec.Struct, forbid_unknown_fields=True):
    regions: (
        Literal["all"]
        | Annotated[
            list[Annotated[str, msgspec.Meta(max_length=16, pattern=REGION_CODE)]],
            msgspec.Meta(min_length=1, max_length=50),
        ]
    )
    keys: Annotated[list[Annotated[str, msgspec.Meta(pattern=KEY_PATTERN)]], msgspec.Meta(max_length=MAX_KEYS)] = []
    # Visible ASCII only: a control character in a path makes every edge's purge request an invalid URL.
    urls: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=501, pattern=URL_PATH)]], msgspec.Meta(max_length=50)
    ] = []
    soft: bool = True


async def _check_edges(state: State, found: dict[str, Any], path: str) -> None:
    """Fetch `path` from each acknowledged edge (twice at most: a soft purge may answer once from stale)."""
    client: httpx.AsyncClient = state.http
    fanout: Fanout = state.fanout
    for region in found["regions"].values():
        for edge in region["edges"]:
            base = fanout.page_url(EdgeId.parse(edge["edge"]))
            if not base or not edge["acknowledged_at"]:
                edge["check"] = {"confirmed": False, "reason": "not acknowledged" if base else "no URL to check"}
                continue
            acked = datetime.fromisoformat(edge["acknowledged_at"])
            result: dict[str, Any] = {"confirmed": False}
            for _ in range(2):
                try:
                    response = await client.get(f"{base}{path}", timeout=5.0)
                except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is not an HTTPError
                    result = {"confirmed": False, "reason": type(exc).__name__}
                    break
                age = int(response.headers.get("age", "0") or 0)
                fetched_after = (utcnow() - acked).total_seconds() >= age
                result = {
                    "confirmed": response.status_code == 200 and fetched_after,
                    "status": response.status_code,
                    "age": age,
                    "etag": response.headers.get("etag"),
                    "x_cache": response.headers.get("x-cache"),
                }
                if result["confirmed"]:
                    break
                await asyncio.sleep(0.2)  # let a background refetch finish
            edge["check"] = result


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


@get("/internal/metrics", guards=[require_token])
async def metrics(state: State) -> Counters:
    """Purges delivered to edges since start-up (purge items acknowledged, objects the edges removed), events
    parked because no planner could read them, and the edge kinds this invalidator purges."""
    fanout: Fanout = state.fanout
    return Counters(
        counters=dict(state.counters),
        parked=[msgspec.convert(p, ParkedEvent) for p in state.parked],
        edges={kind: EdgeKindStatus(**flags) for kind, flags in fanout.describe().items()},
    )


@post("/hooks/cms", status_code=202, responses=problems(401, 409))
async def cms_webhook(request: Request[Any, Any, State], state: State) -> Response[Accepted]:
    """The CMS says it published: read its outbox now. Signed (HMAC, timestamp); replays are refused."""
    body = await request.body()
    refusal = state.webhook_guard.verify(request.headers.get("x-signature", ""), body)
    if refusal is not None:
        status = 409 if refusal == "replayed" else 401
        raise HTTPException(status_code=status, detail=f"Webhook refused: {refusal}.")
    state.outbox_wake.set()
    return Response(Accepted(accepted=True), status_code=202)


class PurgeController(Controller):
    path = "/admin/purges"
    guards = [require_token]

    @post("/", status_code=202, responses=problems(429))
    async def create(self, request: Request[Any, Any, State], state: State, data: PurgeIn) -> Response[PurgeAccepted]:
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
                targets=tuple(state.fanout.targets(regions)),
                soft=data.soft,
                source="api",
                followup_after=timedelta(seconds=state.settings.followup_delay),
                traceparent=current_traceparent(),  # its deliveries join this request's trace
            )
        )
        state.purge_signal.set()
        return Response(PurgeAccepted(id=purge_id, receipt=f"/admin/purges/{purge_id}"), status_code=202)

    @get("/{purge_id:str}")
    async def read(
        self,
        state: State,
        purge_id: str,
        check: Annotated[str | None, Parameter(max_length=500, pattern=URL_PATH)] = None,
    ) -> PurgeReceipt:
        """When each region's edges acknowledged the purge, and how many objects they dropped.

        With `check=/some/path`, each acknowledged edge is asked for that page and the receipt says whether
        what it serves now was fetched after the purge (its `Age` is younger than the acknowledgement).
        """
        store: PurgeStore = state.purge_store
        found = await store.receipt(purge_id[:36])
        if found is None:
            raise NotFoundException(detail=f"No purge {purge_id!r}.")
        if check:
            await _check_edges(state, found, check)
        return found  # type: ignore[return-value]  # encoded as is; PurgeReceipt documents it
