"""Turns the backends' outbox events into region-scoped purges, and delivers purges to each region's edges."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar

from backends.common.db import utcnow
from cache import keys as k
from cache.edge_adapters import (
    CloudflareAdapter,
    EdgeAdapter,
    EdgeError,
    FastlyAdapter,
    OriginCacheAdapter,
    VarnishAdapter,
)
from cache.purge_log import Target
from cache.purge_store import Due, PurgeSpec, PurgeStore
from edge_config import RegionCatalogue
from storefront.settings import InvalidatorSettings

_log = logging.getLogger(__name__)
OUTBOX_BATCH = 200


@dataclass(frozen=True, slots=True)
class PlannedPurge:
    keys: tuple[str, ...]
    regions: tuple[str, ...]
    not_before: datetime | None = None


def _regions(event: dict[str, Any], catalogue: RegionCatalogue) -> tuple[str, ...]:
    scope = event.get("regions") or ["*"]
    return catalogue.codes if "*" in scope else tuple(r for r in scope if catalogue.get(r))


def plan(event: dict[str, Any], catalogue: RegionCatalogue) -> list[PlannedPurge]:
    """Which keys in which regions an event makes stale; only changes a shopper can see purge."""
    payload, regions = event["payload"], _regions(event, catalogue)
    kind = event["type"]
    if kind == "price.changed":
        return [PlannedPurge((k.price(payload["sku"]), k.product(payload["product_id"])), regions)]
    if kind == "inventory.changed":
        visible = payload.get("visible_change", True)
        return [PlannedPurge((k.product(payload["product_id"]),), regions)] if visible else []
    if kind == "product.updated":
        return [PlannedPurge((k.product(payload["product_id"]),), regions)]
    if kind in ("content.published", "content.unpublished"):
        keys = [k.cms(payload["entry_id"])]
        if payload.get("type") in ("navigation", "footer"):
            keys.append(k.NAV)
        # A newly published block is on no cached page's key list yet: purge the page kinds that list them.
        if payload.get("type") == "hero":
            keys.append(k.page("home"))
        if payload.get("type") == "promo":
            keys += [k.page("home"), k.page("category"), k.page("product")]
        return [PlannedPurge(tuple(keys), regions)]
    if kind == "promotion.scheduled":
        target = {"sku": k.price, "category": k.category}.get(payload.get("scope", ""))
        if target is None or not payload.get("target"):
            return []  # brand and order promotions: pages' TTLs are already clamped to the boundary
        keys = (target(payload["target"]),)
        return [
            PlannedPurge(keys, regions, datetime.fromisoformat(payload["starts_at"])),
            PlannedPurge(keys, regions, datetime.fromisoformat(payload["ends_at"])),
        ]
    return []


def edge_targets(settings: InvalidatorSettings, regions: tuple[str, ...]) -> list[Target]:
    """Where a purge in `regions` goes. Our Varnish VCL (it stores nothing fetched before the last purge) and
    the origin page cache (it marks renders that straddle a purge stale) close the fetch-during-purge window
    themselves; Fastly and Cloudflare get each key purge a second time instead."""
    targets = []
    for code in regions:
        region = settings.regions.get(code)
        if region is None:
            continue
        if settings.edge == "varnish":
            targets += [Target(code, f"varnish:{edge.url}", followup=False) for edge in region.edges_of("varnish")]
        else:
            targets.append(Target(code, "origin", followup=False))
        if settings.fastly_token:
            targets += [Target(code, f"fastly:{edge.service_id}") for edge in region.edges_of("fastly")]
        if settings.cloudflare_token:
            targets += [Target(code, f"cloudflare:{edge.zone_id}") for edge in region.edges_of("cloudflare")]
    return targets


def build_adapters(settings: InvalidatorSettings, client: httpx.AsyncClient) -> dict[str, EdgeAdapter]:
    adapters: dict[str, EdgeAdapter] = {"origin": OriginCacheAdapter(settings.origin_url, settings.admin_token, client)}
    for region in settings.regions:
        for edge in region.edges:
            if edge.kind == "varnish":
                adapters[f"varnish:{edge.url}"] = VarnishAdapter(edge.url, client)
            elif edge.kind == "fastly":
                adapters[f"fastly:{edge.service_id}"] = FastlyAdapter(
                    edge.service_id, settings.fastly_token, client, settings.fastly_api
                )
            elif edge.kind == "cloudflare":
                adapters.setdefault(
                    f"cloudflare:{edge.zone_id}",
                    CloudflareAdapter(edge.zone_id, settings.cloudflare_token, client, settings.cloudflare_api),
                )
    return adapters


async def consume_outboxes(app: Litestar) -> None:
    """Poll every backend's outbox; each event becomes purges in the same transaction as its cursor."""
    settings: InvalidatorSettings = app.state.settings
    client: httpx.AsyncClient = app.state.http
    # A service that is down is asked again after a growing pause (0.1 s doubling to 5 s), and said so once,
    # rather than every poll: its outbox keeps every event until it is back.
    failures: dict[str, int] = {}
    next_try: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    while True:
        due = [name for name in settings.outboxes if next_try.get(name, 0.0) <= loop.time()]
        results = await asyncio.gather(
            *(_consume_one(app, settings, client, name, *settings.outboxes[name]) for name in due),
            return_exceptions=True,
        )
        for service, result in zip(due, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
            if isinstance(result, Exception):
                failures[service] = failures.get(service, 0) + 1
                next_try[service] = loop.time() + min(5.0, 0.1 * 2 ** (failures[service] - 1))
                if failures[service] == 1:
                    _log.warning("reading the %s outbox failed (%s); retrying", service, type(result).__name__)
            elif failures.pop(service, 0):
                next_try.pop(service, None)
                _log.warning("reading the %s outbox works again", service)
        if not any(result is True for result in results):
            wake: asyncio.Event = app.state.outbox_wake
            with suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=settings.poll_interval)
            wake.clear()


async def _consume_one(
    app: Litestar, settings: InvalidatorSettings, client: httpx.AsyncClient, service: str, url: str, token: str
) -> bool:
    store: PurgeStore = app.state.purge_store
    after = await store.cursor(service)
    response = await client.get(
        f"{url}/admin/outbox",
        params={"after": after, "limit": OUTBOX_BATCH},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    events = response.json()["events"]
    if not events:
        return False
    specs = [
        PurgeSpec(
            keys=planned.keys,
            urls=(),
            targets=tuple(edge_targets(settings, planned.regions)),
            soft=True,
            source=f"{service}:{event['type']}",
            dedupe_key=f"{service}:{event['id']}:{number}",
            not_before=planned.not_before,
            followup_after=timedelta(seconds=settings.followup_delay),
        )
        for event in events
        for number, planned in enumerate(plan(event, settings.regions))
    ]
    await store.record_events(service, events[-1]["seq"], specs)
    app.state.purge_signal.set()
    return True


async def run_purgers(app: Litestar) -> None:
    settings: InvalidatorSettings = app.state.settings
    async with asyncio.TaskGroup() as group:
        for region in settings.regions:
            group.create_task(_purger(app, region.code))


async def _purger(app: Litestar, region: str) -> None:
    """Deliver due purges for one region; repeated keys in one batch go to each edge once."""
    settings: InvalidatorSettings = app.state.settings
    signal: asyncio.Event = app.state.purge_signal
    while True:
        try:
            delivered = await _deliver_once(app, region)
        except Exception:  # a database hiccup: the deliveries stay pending and are retried
            _log.exception("purger for %s failed; retrying", region)
            delivered = False
        if not delivered:
            with suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), timeout=settings.poll_interval)
            signal.clear()


async def _deliver_once(app: Litestar, region: str) -> bool:
    adapters: dict[str, EdgeAdapter] = app.state.adapters
    store: PurgeStore = app.state.purge_store
    batch = await store.due(region, utcnow())
    if not batch:
        return False
    by_edge: dict[tuple[str, bool], list[Due]] = defaultdict(list)
    for item in batch:
        by_edge[(item.edge, item.soft)].append(item)
    outcomes = await asyncio.gather(
        *(_send(adapters.get(edge), region, items, soft) for (edge, soft), items in by_edge.items())
    )
    now = utcnow()
    for (removed, error), items in zip(outcomes, by_edge.values(), strict=True):
        if error is None:
            await store.ack(items, removed, now)
            app.state.counters["purges_applied"] += len(items)
            app.state.counters["objects_purged"] += removed
        else:
            await store.retry(items, error, now)
    return True


async def _send(adapter: EdgeAdapter | None, region: str, items: list[Due], soft: bool) -> tuple[int, str | None]:
    if adapter is None:
        return 0, "no adapter for this edge (missing credentials?)"
    keys = sorted({key for item in items for key in item.keys})
    urls = sorted({url for item in items for url in item.urls})
    try:
        return await adapter.purge(region, keys, urls, soft=soft), None
    except EdgeError as exc:
        return 0, str(exc)
