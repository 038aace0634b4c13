"""The outbox's long poll, over real HTTP: a commit wakes the waiting reader; a commit made by another process
is found on a recheck."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn

from backends.common import Database, outbox
from backends.common.events import InvalidEvent, PriceChanged, PriceLevels
from backends.pricing.app import create_app
from backends.pricing.models import PricingEvent
from edge_config.ports import free_port
from stack.settings import Settings
from tests.conftest import ADMIN

PRICE = "/admin/prices/eu/SKU-00004-1"
# Tells a woken long poll (answered when the commit lands) from one that ran out its 30 s wait: not a speed
# bound, however slow the machine.
WOKEN_WITHIN = 20.0


@pytest.fixture
def pricing(seeded: Settings) -> Iterator[str]:
    """The pricing service on a loopback port, serving requests concurrently as in production."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(seeded.pricing), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "pricing did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
async def client(pricing: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=pricing, headers=ADMIN, timeout=60) as client:
        yield client


async def test_a_commit_wakes_the_reader_waiting_on_the_outbox(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "RECHECK", 3600.0)  # no second look at the table: only the commit can wake it
    waiting = asyncio.create_task(client.get("/admin/outbox", params={"wait": 30}))
    await asyncio.sleep(0)
    assert (await client.put(PRICE, json={"list": "99.90"})).json()["changed"] is True
    page = (await asyncio.wait_for(waiting, timeout=WOKEN_WITHIN)).json()  # woken, not timed out
    assert [e["type"] for e in page["events"]] == ["price.changed"] and page["last_seq"] == page["events"][0]["seq"]
    # Nothing new after it: a zero wait answers at once, empty.
    again = (await client.get("/admin/outbox", params={"after": page["last_seq"]})).json()
    assert again == {"events": [], "last_seq": page["last_seq"]}


async def test_an_event_another_process_commits_is_found_on_a_recheck(
    client: httpx.AsyncClient, seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "RECHECK", 0.05)
    waiting = asyncio.create_task(client.get("/admin/outbox", params={"wait": 30}))
    await asyncio.sleep(0)
    other = Database.connect(seeded.pricing.database_url)  # its own signal, as another worker's would be
    try:
        async with other.write() as session:
            levels = PriceLevels(list_minor=9990, sale_minor=None)
            change = PriceChanged(sku="SKU-00004-1", product_id=4, region="eu", before=levels, after=levels)
            outbox.add_event(session, PricingEvent, "price.changed", ["eu"], change)
    finally:
        await other.dispose()
    assert [e["type"] for e in (await waiting).json()["events"]] == ["price.changed"]


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
async def test_on_postgresql_another_process_commit_wakes_the_reader_at_once(
    client: httpx.AsyncClient, seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker's (or replica's) commit NOTIFYs; the serving worker LISTENs, so no recheck is needed."""
    monkeypatch.setattr(outbox, "RECHECK", 3600.0)  # no second look at the table: only the NOTIFY can wake it
    waiting = asyncio.create_task(client.get("/admin/outbox", params={"wait": 30}))
    await asyncio.sleep(0)
    other = Database.connect(seeded.pricing.database_url)  # its own in-process signal, as another worker's
    try:
        async with other.write() as session:
            levels = PriceLevels(list_minor=9990, sale_minor=None)
            change = PriceChanged(sku="SKU-00004-1", product_id=4, region="eu", before=levels, after=levels)
            outbox.add_event(session, PricingEvent, "price.changed", ["eu"], change)
    finally:
        await other.dispose()
    # Woken, not answered at the end of its 30 s wait (its last look would find the event too).
    page = (await asyncio.wait_for(waiting, timeout=WOKEN_WITHIN)).json()
    assert [e["type"] for e in page["events"]] == ["price.changed"]


@pytest.mark.parametrize("wait", ["-1", "31", "soon", "nan"])
async def test_a_bad_wait_is_refused(client: httpx.AsyncClient, wait: str) -> None:
    response = await client.get("/admin/outbox", params={"wait": wait})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("event_type", "payload", "reason"),
    [
        ("price.renamed", {}, "unknown event type"),
        ("price.changed", {"sku": "SKU-1"}, "malformed PriceChanged"),
        ("stock.changed", {"sku": "SKU-1", "region": "us", "on_hand": "7", "reason": "count"}, "malformed"),
    ],
)
async def test_an_event_must_match_the_vocabulary_when_written(
    seeded: Settings, event_type: str, payload: dict[str, object], reason: str
) -> None:
    db = Database.connect(seeded.pricing.database_url)
    try:
        async with db.write() as session:
            with pytest.raises(InvalidEvent, match=reason):
                outbox.add_event(session, PricingEvent, event_type, ["us"], payload)
    finally:
        await db.dispose()
