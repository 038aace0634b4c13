"""The CMS: delivery shows only published content, preview and editor need tokens, edits are versioned."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from backends.cms.app import create_app
from backends.cms.service import publish_due
from backends.common import Database
from stack.settings import Settings
from tests.conftest import EDITOR, PREVIEW

PAGE = {
    "en-US": {"title": "Shipping", "body": "<p>Fast.</p>"},
    "de-DE": {"title": "Versand", "body": "<p>Schnell.</p>"},
}


@pytest.fixture
async def client(seeded: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(seeded.cms)) as client:
        yield client


async def outbox(client: AsyncTestClient[Any]) -> list[dict[str, Any]]:
    return (await client.get("/admin/outbox", headers=EDITOR)).json()["events"]


async def create_page(client: AsyncTestClient[Any], key: str = "shipping", fields: Any = PAGE) -> dict[str, Any]:
    response = await client.post("/editor/entries", json={"type": "page", "key": key, "fields": fields}, headers=EDITOR)
    assert response.status_code == 201, response.text
    return response.json()


async def test_seeded_content_is_delivered_per_locale(client: AsyncTestClient[Any]) -> None:
    de = (await client.get("/delivery/entries/page/about", params={"locale": "de-DE"})).json()
    assert de["locale"] == "de-DE" and de["fields"]["title"] == "Über uns"
    sg = (await client.get("/delivery/entries/page/about", params={"locale": "en-SG"})).json()
    assert sg["locale"] == "en-SG"
    nav = (await client.get("/delivery/entries", params={"locale": "en-US", "type": "navigation"})).json()
    assert nav["items"][0]["fields"]["items"]


async def test_drafts_are_invisible_until_published(client: AsyncTestClient[Any]) -> None:
    entry = await create_page(client)
    assert (await client.get("/delivery/entries/page/shipping", params={"locale": "en-US"})).status_code == 404
    assert (await client.get("/preview/entries/page/shipping", params={"locale": "en-US"})).status_code == 401
    preview = await client.get("/preview/entries/page/shipping", params={"locale": "en-US"}, headers=PREVIEW)
    assert preview.json()["fields"]["title"] == "Shipping"
    assert await outbox(client) == []

    published = await client.post(f"/editor/entries/{entry['id']}/publish", json={}, headers=EDITOR)
    assert published.json()["published_version"] == 1
    live = (await client.get("/delivery/entries/page/shipping", params={"locale": "de-DE"})).json()
    assert live["fields"]["title"] == "Versand"
    [event] = await outbox(client)
    assert event["type"] == "content.published"
    assert event["regions"] == ["apac", "eu", "us"]
    assert event["payload"]["key"] == "shipping"


async def test_new_versions_publish_only_where_content_changed(client: AsyncTestClient[Any]) -> None:
    entry = await create_page(client)
    await client.post(f"/editor/entries/{entry['id']}/publish", json={}, headers=EDITOR)
    german_only = {**PAGE, "de-DE": {"title": "Versand & Lieferung", "body": "<p>Schnell.</p>"}}
    saved = await client.put(
        f"/editor/entries/{entry['id']}", json={"fields": german_only, "base_version": 1}, headers=EDITOR
    )
    assert saved.json()["version"] == 2
    # Still version 1 in delivery until the editor publishes.
    assert (await client.get("/delivery/entries/page/shipping", params={"locale": "de-DE"})).json()["version"] == 1
    await client.post(f"/editor/entries/{entry['id']}/publish", json={}, headers=EDITOR)
    events = await outbox(client)
    assert events[-1]["regions"] == ["eu"]  # only the region that shows de-DE sees a change
    again = await client.post(f"/editor/entries/{entry['id']}/publish", json={}, headers=EDITOR)
    assert again.status_code == 200 and len(await outbox(client)) == len(events)


async def test_stale_saves_conflict_and_retries_are_harmless(client: AsyncTestClient[Any]) -> None:
    entry = await create_page(client)
    again = await client.post(
        "/editor/entries", json={"type": "page", "key": "shipping", "fields": PAGE}, headers=EDITOR
    )
    assert again.status_code == 200 and again.json()["id"] == entry["id"]
    different = {"en-US": {"title": "Other"}}
    clash = await client.post(
        "/editor/entries", json={"type": "page", "key": "shipping", "fields": different}, headers=EDITOR
    )
    assert clash.status_code == 409
    v2 = {"en-US": {"title": "Shipping v2"}}
    first = await client.put(f"/editor/entries/{entry['id']}", json={"fields": v2, "base_version": 1}, headers=EDITOR)
    retry = await client.put(f"/editor/entries/{entry['id']}", json={"fields": v2, "base_version": 1}, headers=EDITOR)
    assert first.json()["version"] == retry.json()["version"] == 2
    stale = await client.put(
        f"/editor/entries/{entry['id']}",
        json={"fields": {"en-US": {"title": "Mine"}}, "base_version": 1},
        headers=EDITOR,
    )
    assert stale.status_code == 409


async def test_rich_text_is_sanitised_on_write(client: AsyncTestClient[Any]) -> None:
    hostile = {
        "en-US": {
            "title": "Hi",
            "body": '<p onclick="x()">ok<script>alert(1)</script><a href="javascript:alert(1)">l</a>'
            '<img src=x onerror=alert(1)><iframe src="//evil"></iframe></p>',
        }
    }
    entry = await create_page(client, key="hostile", fields=hostile)
    body = entry["fields"]["en-US"]["body"]
    for bad in ("<script", "onclick", "javascript:", "<img", "onerror", "<iframe"):
        assert bad not in body
    assert "ok" in body


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "page", "key": "x", "fields": {}},
        {"type": "page", "key": "x", "fields": {"english": {"title": "x"}}},
        {"type": "page", "key": "x", "fields": {"en-US": {"title": "x" * 500}}},
        {"type": "page", "key": "x", "fields": {"en-US": {"nope": "x"}}},
        {"type": "hero", "key": "x", "fields": {"en-US": {"title": "x", "cta_href": "javascript:alert(1)"}}},
        {"type": "widget", "key": "x", "fields": {"en-US": {"title": "x"}}},
        {"type": "page", "key": "Not A Slug", "fields": {"en-US": {"title": "x"}}},
    ],
)
async def test_invalid_entries_are_422(client: AsyncTestClient[Any], payload: dict[str, Any]) -> None:
    response = await client.post("/editor/entries", json=payload, headers=EDITOR)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_editor_api_needs_the_editor_token(client: AsyncTestClient[Any]) -> None:
    payload = {"type": "page", "key": "sneaky", "fields": {"en-US": {"title": "x"}}}
    for headers in ({}, PREVIEW, {"Authorization": "Bearer nope"}):
        assert (await client.post("/editor/entries", json=payload, headers=headers)).status_code == 401
    assert (await client.post("/editor/entries/1/publish", json={})).status_code == 401
    assert (
        await client.get("/preview/entries/page/sneaky", params={"locale": "en-US"}, headers=PREVIEW)
    ).status_code == 404


async def test_scheduled_publish_happens_at_its_time(client: AsyncTestClient[Any], seeded: Settings) -> None:
    entry = await create_page(client, key="sale")
    at = datetime.now(UTC) + timedelta(hours=1)
    await client.post(f"/editor/entries/{entry['id']}/publish", json={"at": at.isoformat()}, headers=EDITOR)
    listing = (await client.get("/delivery/entries", params={"locale": "en-US", "type": "page"})).json()
    assert "sale" not in {i["key"] for i in listing["items"]}
    assert datetime.fromisoformat(listing["next_change_at"]) == at

    db = Database.connect(seeded.cms.database_url)
    try:
        async with db.sessionmaker() as session:
            assert await publish_due(session, now=at - timedelta(seconds=1), catalogue=seeded.regions) == 0
            assert await publish_due(session, now=at, catalogue=seeded.regions) == 1
            assert await publish_due(session, now=at, catalogue=seeded.regions) == 0
    finally:
        await db.dispose()
    live = await client.get("/delivery/entries/page/sale", params={"locale": "en-US"})
    assert live.status_code == 200
    assert [e["type"] for e in await outbox(client)] == ["content.published"]


async def test_the_scheduler_wakes_for_a_publish_scheduled_after_it_fell_asleep(seeded: Settings) -> None:
    """It sleeps until the next scheduled publish (an hour here, with nothing scheduled), not on a timer."""
    app = create_app(dataclasses.replace(seeded.cms, scheduler_interval=3600.0))
    async with AsyncTestClient(app=app) as client:
        entry = await create_page(client, key="flash")
        at = datetime.now(UTC) + timedelta(milliseconds=300)
        await client.post(f"/editor/entries/{entry['id']}/publish", json={"at": at.isoformat()}, headers=EDITOR)
        deadline = asyncio.get_running_loop().time() + 60
        while (await client.get("/delivery/entries/page/flash", params={"locale": "en-US"})).status_code != 200:
            assert asyncio.get_running_loop().time() < deadline, "the scheduled publish never happened"
            await asyncio.sleep(0.05)
        assert [e["type"] for e in await outbox(client)] == ["content.published"]


async def test_unpublish_hides_content_and_emits(client: AsyncTestClient[Any]) -> None:
    entry = await create_page(client)
    await client.post(f"/editor/entries/{entry['id']}/publish", json={}, headers=EDITOR)
    await client.post(f"/editor/entries/{entry['id']}/unpublish", headers=EDITOR)
    assert (await client.get("/delivery/entries/page/shipping", params={"locale": "en-US"})).status_code == 404
    assert [e["type"] for e in await outbox(client)] == ["content.published", "content.unpublished"]


async def test_bad_delivery_queries(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/delivery/entries", params={"locale": "english"})).status_code == 422
    assert (await client.get("/delivery/entries/widget/x", params={"locale": "en-US"})).status_code == 422
    assert (await client.get("/delivery/entries/page/nope", params={"locale": "en-US"})).status_code == 404
