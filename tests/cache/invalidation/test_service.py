"""The invalidator service: an outbox event no planner can read is parked where the status endpoint shows it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable

from litestar import Litestar
from sqlalchemy import select

from cache.invalidation.log import PurgeRequest
from cache.invalidation.service import create_app
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.conftest import ADMIN
from tests.edge_config.conftest import Recorder, recorder  # noqa: F401 - the fixture

EVENTS = [
    {"seq": 1, "id": "e-1", "type": "price.renamed", "regions": ["us"], "payload": {}},
    {"seq": 2, "id": "e-2", "type": "product.updated", "regions": ["us"], "payload": {}},
    {
        "seq": 3,
        "id": "e-3",
        "type": "product.updated",
        "regions": ["us"],
        "payload": {"product_id": 7, "slug": "hat", "category": "hats", "fields": ["title"], "version": 2},
    },
]


async def test_unreadable_events_are_parked_counted_and_shown_and_the_rest_purge(
    settings: Settings,
    recorder: Callable[..., Recorder],  # noqa: F811
) -> None:
    def outbox(request: dict[str, object]) -> tuple[int, dict[str, str], bytes]:
        events = EVENTS if "after=0" in str(request["query"]) else []
        return 200, {"Content-Type": "application/json"}, json.dumps({"events": events}).encode()

    catalog = recorder(outbox)
    app = create_app(dataclasses.replace(settings.invalidator, outboxes={"catalog": (catalog.url, "t")}))
    async with running(app), client_for(app) as client:
        for _ in range(200):
            status = (await client.get("/internal/metrics", headers=ADMIN)).json()
            if status["counters"].get("events_parked", 0) >= 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)  # a batch read again would park its events a second time
        status = (await client.get("/internal/metrics", headers=ADMIN)).json()
        receipt = await app.state.purge_store.receipt(await _purge_of(app, "catalog:e-3:0"))
    assert status["counters"]["events_parked"] == 2
    assert [(p["id"], p["type"]) for p in status["parked"]] == [("e-1", "price.renamed"), ("e-2", "product.updated")]
    assert status["parked"][0]["reason"] == "unknown event type 'price.renamed'"
    assert status["parked"][1]["reason"].startswith("malformed product.updated")
    assert status["edges"] == {"origin": {"by_key": True, "followup": False}}
    assert receipt is not None and receipt["keys"] == ["product:7"]


async def _purge_of(app: Litestar, dedupe_key: str) -> str:
    async with app.state.db.sessionmaker() as session:
        return (await session.scalars(select(PurgeRequest.id).where(PurgeRequest.dedupe_key == dedupe_key))).one()
