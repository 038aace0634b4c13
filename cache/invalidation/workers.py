"""The invalidator's loops: the outbox consumer (events into purges) and one purger per region (purges to edges)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import datetime, timedelta
from typing import Any

import httpx
from litestar import Litestar
from opentelemetry.trace import SpanKind, StatusCode, Tracer

from backends.common.db import utcnow
from backends.common.traces import context_from_traceparent, current_traceparent, links_to
from cache.invalidation.edges import EdgeAdapter, EdgeError
from cache.invalidation.fanout import Fanout
from cache.invalidation.planner import PlannedPurge, UnplannableEvent, plan
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.store import Due, PurgeSpec, PurgeStore
from cache.invalidation.targets import EdgeId

_log = logging.getLogger(__name__)
OUTBOX_BATCH = 200
MIN_SLEEP = 0.01  # seconds: a delivery due in the past that `due` did not return is not asked for in a hot loop
PARKED_KEPT = 100  # the most recent parked events the status endpoint lists


async def consume_outboxes(app: Litestar) -> None:
    """Follow every backend's outbox, each in its own long poll; each event becomes purges in the same
    transaction as its cursor."""
    settings: InvalidatorSettings = app.state.settings
    async with asyncio.TaskGroup() as group:
        for service in settings.outboxes:
            group.create_task(_follow(app, service))


async def _follow(app: Litestar, service: str) -> None:
    """Long-poll one outbox: the backend answers as soon as an event commits, or after `outbox_wait` with
    nothing. A backend that is down is asked again after a growing pause (0.1 s doubling to 5 s; a webhook
    cuts it short), and said so once rather than every time: its outbox keeps every event until it is back."""
    settings: InvalidatorSettings = app.state.settings
    client: httpx.AsyncClient = app.state.http
    url, token = settings.outboxes[service]
    failures = 0
    while True:
        try:
            got_events = await _consume_one(app, settings, client, service, url, token)
        except Exception as exc:  # any failure to read or record: the cursor did not move, so nothing is lost
            failures += 1
            if failures == 1:
                _log.warning("reading the %s outbox failed (%s); retrying", service, type(exc).__name__)
            await _pause(app.state.outbox_wake, min(5.0, 0.1 * 2 ** (failures - 1)))
            continue
        if failures:
            failures = 0
            _log.warning("reading the %s outbox works again", service)
        if not got_events:
            # The backend held the request for `outbox_wait` already; this only keeps a backend that ignores
            # `wait` from being asked in a tight loop.
            await _pause(app.state.outbox_wake, settings.poll_interval)


async def _pause(wake: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `wake` is set (a webhook says an outbox has news)."""
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()


async def _consume_one(
    app: Litestar, settings: InvalidatorSettings, client: httpx.AsyncClient, service: str, url: str, token: str
) -> bool:
    store: PurgeStore = app.state.purge_store
    after = await store.cursor(service)
    response = await client.get(
        f"{url}/admin/outbox",
        params={"after": after, "limit": OUTBOX_BATCH, "wait": settings.outbox_wait},
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(5.0, read=settings.outbox_wait + 5.0),
    )
    response.raise_for_status()
    events = response.json()["events"]
    if not events:
        return False
    fanout: Fanout = app.state.fanout
    tracer: Tracer | None = app.state.tracing.tracer
    specs = []
    for event in events:
        with _planning(tracer, service, event):
            # The planning span (a child of the write that made the event) is what the purges' spans hang from.
            traceparent = current_traceparent()
            specs += [
                PurgeSpec(
                    keys=planned.keys,
                    urls=(),
                    targets=tuple(fanout.targets(planned.regions)),
                    soft=True,
                    source=f"{service}:{event['type']}",
                    dedupe_key=f"{service}:{event['id']}:{number}",
                    not_before=planned.not_before,
                    followup_after=timedelta(seconds=settings.followup_delay),
                    occurred_at=_occurred_at(event),
                    traceparent=traceparent,
                )
                for number, planned in enumerate(_plan_or_park(app, settings, service, event))
            ]
    await store.record_events(service, events[-1]["seq"], specs)
    app.state.purge_signal.set()
    app.state.invalidator_metrics.consumed(service, events[-1]["seq"])
    return True


def _occurred_at(event: dict[str, Any]) -> datetime | None:
    """The event's commit time, if it says (purge lag counts from it); a bad one only costs the metric."""
    try:
        return datetime.fromisoformat(event["occurred_at"])
    except (KeyError, TypeError, ValueError):
        return None


def _planning(tracer: Tracer | None, service: str, event: dict[str, Any]) -> AbstractContextManager[Any]:
    """A span for turning one event into purges, in the trace of the request that wrote the event."""
    if tracer is None:
        return nullcontext()
    return tracer.start_as_current_span(
        f"plan {event.get('type')}",
        context=context_from_traceparent(event.get("traceparent")),
        kind=SpanKind.CONSUMER,
        attributes={"storefront.source": service, "storefront.event_id": str(event.get("id"))},
    )


def _plan_or_park(
    app: Litestar, settings: InvalidatorSettings, service: str, event: dict[str, Any]
) -> list[PlannedPurge]:
    """An event no planner can read is parked where the status endpoint shows it, and the outbox moves on:
    one bad event must not hold back every purge behind it."""
    try:
        return plan(event, settings.regions)
    except UnplannableEvent as exc:
        parked: deque[dict[str, Any]] = app.state.parked
        entry = {"service": service, "seq": event.get("seq"), "id": event.get("id"), "type": event.get("type")}
        if entry not in ({key: p[key] for key in entry} for p in parked):  # a batch read again parks nothing new
            _log.warning("parked %s event %s from %s: %s", event.get("type"), event.get("id"), service, exc)
            app.state.counters["events_parked"] += 1
            parked.append(entry | {"reason": str(exc)[:300]})
        return []


class PurgeWake:
    """Wakes every region's purger when purges are recorded; one event each, so a purger clears only its
    own and never swallows another's wake-up."""

    def __init__(self, regions: Iterable[str]) -> None:
        self._events = {region: asyncio.Event() for region in regions}

    def set(self) -> None:
        for event in self._events.values():
            event.set()

    fire = set  # the name commit signals use (`backends.common.commits.Fires`)

    def of(self, region: str) -> asyncio.Event:
        return self._events[region]


async def run_purgers(app: Litestar) -> None:
    settings: InvalidatorSettings = app.state.settings
    async with asyncio.TaskGroup() as group:
        group.create_task(_wake_on_purges_recorded_elsewhere(app))
        for region in settings.regions:
            group.create_task(_purger(app, region.code))


async def _wake_on_purges_recorded_elsewhere(app: Litestar) -> None:
    """Only the leader runs purgers, but any invalidator process may record a purge (its API, a webhook): the
    store tells the leader at once. A lost connection is opened again; `purge_recheck` covers the gap."""
    store: PurgeStore = app.state.purge_store
    failures = 0
    while True:
        try:
            await store.watch(app.state.purge_signal)
        except Exception as exc:
            failures += 1
            _log.warning("not woken by purges recorded elsewhere (%s); listening again", type(exc).__name__)
            app.state.purge_signal.set()  # something may have been recorded meanwhile
            await asyncio.sleep(min(30.0, 0.5 * 2**failures))


async def _purger(app: Litestar, region: str) -> None:
    """Deliver due purges for one region; repeated keys in one batch go to each edge once."""
    settings: InvalidatorSettings = app.state.settings
    signal = app.state.purge_signal.of(region)
    store: PurgeStore = app.state.purge_store
    while True:
        try:
            delivered = await _deliver_once(app, region)
        except Exception:  # a database hiccup: the deliveries stay pending and are retried
            _log.exception("purger for %s failed; retrying", region)
            delivered = False
        if not delivered:
            # Asleep until a new purge is recorded (the signal) or a delayed one (a follow-up, a retry) falls
            # due; `purge_recheck` bounds the sleep in case a store's answer was missed.
            try:
                due_at = await store.next_due(region)
            except Exception:
                due_at = None
            wait = settings.purge_recheck
            if due_at is not None:
                wait = min(wait, max(MIN_SLEEP, (due_at - utcnow()).total_seconds()))
            with suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await signal.wait()
            signal.clear()


async def _deliver_once(app: Litestar, region: str) -> bool:
    adapters: dict[EdgeId, EdgeAdapter] = app.state.adapters
    store: PurgeStore = app.state.purge_store
    batch = await store.due(region, utcnow())
    if not batch:
        return False
    by_edge: dict[tuple[EdgeId, bool], list[Due]] = defaultdict(list)
    for item in batch:
        by_edge[(item.edge, item.soft)].append(item)
    tracer: Tracer | None = app.state.tracing.tracer
    outcomes = await asyncio.gather(
        *(_delivery(tracer, adapters.get(edge), region, edge, items, soft) for (edge, soft), items in by_edge.items())
    )
    now = utcnow()
    metrics = app.state.invalidator_metrics
    for (removed, error), items in zip(outcomes, by_edge.values(), strict=True):
        if error is None:
            await store.ack(items, removed, now)
            app.state.counters["purges_applied"] += len(items)
            app.state.counters["objects_purged"] += removed
            metrics.acknowledged(region, items, now)
        else:
            await store.retry(items, error, now)
            metrics.failed(region, items)
    return True


async def _delivery(
    tracer: Tracer | None, adapter: EdgeAdapter | None, region: str, edge: EdgeId, items: list[Due], soft: bool
) -> tuple[int, str | None]:
    """One call to one edge for a batch of deliveries: a span in the trace that caused them (linked to each when
    they came from several) and one log line."""
    started = time.perf_counter()
    if tracer is None:
        removed, error = await _send(adapter, region, items, soft)
    else:
        parents = list(dict.fromkeys(item.traceparent for item in items if item.traceparent))
        with tracer.start_as_current_span(
            f"purge {edge.kind}",
            context=context_from_traceparent(parents[0] if len(parents) == 1 else None),
            links=links_to(parents) if len(parents) > 1 else None,
            kind=SpanKind.PRODUCER,
            attributes={"storefront.region": region, "storefront.edge": edge.kind, "storefront.deliveries": len(items)},
        ) as span:
            removed, error = await _send(adapter, region, items, soft)
            if error is not None:
                span.set_status(StatusCode.ERROR, error[:200])
            _log_delivery(region, edge, items, removed, error, started)
            return removed, error
    _log_delivery(region, edge, items, removed, error, started)
    return removed, error


def _log_delivery(region: str, edge: EdgeId, items: list[Due], removed: int, error: str | None, started: float) -> None:
    fields = {
        "region": region,
        "edge": edge.kind,
        "keys": len({key for item in items for key in item.keys}),
        "urls": len({url for item in items for url in item.urls}),
        "deliveries": len(items),
        "outcome": "ok" if error is None else "error",
        "attempt": max(item.attempts for item in items) + 1,
        "removed": removed,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if error is not None:
        fields["error"] = error[:200]
    _log.log(logging.INFO if error is None else logging.WARNING, "purge", extra={"fields": fields})


async def _send(adapter: EdgeAdapter | None, region: str, items: list[Due], soft: bool) -> tuple[int, str | None]:
    if adapter is None:
        return 0, "no adapter for this edge (missing credentials?)"
    keys = sorted({key for item in items for key in item.keys})
    urls = sorted({url for item in items for url in item.urls})
    try:
        return await adapter.purge(region, keys, urls, soft=soft), None
    except EdgeError as exc:
        return 0, str(exc)
