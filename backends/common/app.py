"""The factory every backend service uses: lifespan-owned database, health check, outbox feed, errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager, suppress
from functools import partial
from typing import Annotated, Any, Union

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncSession

from backends.common.auth import require_token
from backends.common.commits import commits_elsewhere
from backends.common.db import Database
from backends.common.head import head_for_every_get
from backends.common.leader import lead
from backends.common.metrics import install_metrics, outbox_head, replica_metrics
from backends.common.migrations import Schema, upgrade
from backends.common.openapi import finish_openapi, openapi_config, problems
from backends.common.outbox import OutboxEventMixin, read_events
from backends.common.params import Cursor
from backends.common.problems import EXCEPTION_HANDLERS, problem
from backends.common.replica import Replica
from backends.common.settings import ServiceSettings
from backends.common.telemetry import instrument

MAX_BODY_BYTES = 256 * 1024
Background = Callable[[Litestar], Awaitable[None]]
Resource = Callable[[Litestar], AbstractAsyncContextManager[None]]


async def provide_session(state: State) -> AsyncIterator[AsyncSession]:
    async with state.db.sessionmaker() as session:
        yield session


async def provide_read_session(state: State) -> AsyncIterator[AsyncSession]:
    """A session for public reads: on the replica while it keeps up, else on the primary."""
    replica: Replica | None = state.replica
    database = replica.db if replica is not None and replica.in_use else state.db
    async with database.sessionmaker() as session:
        yield session


class Health(msgspec.Struct):
    status: str
    service: str


class OutboxEvent(msgspec.Struct):
    seq: int
    id: str
    type: str
    occurred_at: str
    regions: list[str]
    payload: dict[str, Any]
    traceparent: str | None = None


class OutboxPage(msgspec.Struct):
    events: list[OutboxEvent]
    last_seq: int


class TypedEvent(msgspec.Struct, tag_field="type", kw_only=True):
    """An outbox event whose `type` says what its `payload` holds."""

    seq: int
    id: str
    occurred_at: str
    regions: list[str]
    traceparent: str | None = None  # W3C trace context of the write, when it was traced


def typed_outbox_page(payloads: Mapping[str, type[msgspec.Struct]]) -> type[msgspec.Struct]:
    """`OutboxPage` with one event struct per event type (tagged by `type`), for a service's document."""
    events = tuple(
        msgspec.defstruct(
            f"{payload.__name__}Event", [("payload", payload)], bases=(TypedEvent,), tag=tag, module=__name__
        )
        for tag, payload in payloads.items()
    )
    return msgspec.defstruct(
        "OutboxPage",
        [("events", list[Union[events]]), ("last_seq", int)],  # noqa: UP007  # built from a tuple
        module=__name__,
    )


@get("/healthz", responses=problems(503))
async def healthz(state: State) -> Response[Health]:
    try:
        await state.db.ping()
    except Exception as exc:  # any database failure means "not healthy", whatever its type
        return problem(HTTP_503_SERVICE_UNAVAILABLE, "Database unavailable", str(exc)[:200])
    return Response({"status": "ok", "service": state.settings.name})


MAX_OUTBOX_WAIT = 30.0  # seconds a long poll of the outbox may be held


async def _hung_up(request: Request[Any, Any, Any]) -> None:
    """Returns when the client disconnects (a long poll ends early rather than hold the server's shutdown)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _outbox_route(
    model: type[OutboxEventMixin], payloads: Mapping[str, type[msgspec.Struct]] | None
) -> ControllerRouterHandler:
    async def outbox(
        request: Request[Any, Any, Any],
        state: State,
        db_session: AsyncSession,
        after: Cursor = 0,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        wait: Annotated[float, Parameter(ge=0, le=MAX_OUTBOX_WAIT)] = 0,
    ) -> OutboxPage:
        """Events in commit order after sequence number `after`, for the invalidator to consume. With `wait`
        (seconds), an empty answer waits that long for an event to be committed: a long poll."""
        gone = asyncio.ensure_future(_hung_up(request)) if wait else None
        try:
            events = await read_events(
                db_session, model, after=after, limit=limit, wait=wait, signal=state.db.outbox_signal, gone=gone
            )
        finally:
            if gone is not None:
                gone.cancel()
        page = {"events": [e.as_dict() for e in events], "last_seq": events[-1].seq if events else after}
        if events and state.replica is not None:
            await db_session.rollback()  # hold no snapshot open on the primary while the replica catches up
            await state.replica.wait_replayed(state.db)  # purged pages are refetched: from the replica, maybe
        return page  # type: ignore[return-value]  # the dict is encoded as is; OutboxPage documents it

    if payloads:
        outbox.__annotations__["return"] = typed_outbox_page(payloads)
    return get("/admin/outbox", guards=[require_token])(outbox)


def create_service_app(
    *,
    settings: ServiceSettings,
    schema: Schema,
    outbox_model: type[OutboxEventMixin] | None,
    route_handlers: Sequence[ControllerRouterHandler],
    outbox_payloads: Mapping[str, type[msgspec.Struct]] | None = None,
    background: Sequence[Background] = (),
    resources: Sequence[Resource] = (),
    state: dict[str, Any] | None = None,
    exception_handlers: dict[type[Exception] | int, Any] | None = None,
    admin_scheme: str = "admin",
    debug: bool = False,
) -> Litestar:
    """Build a backend: its database is upgraded to its schema's head at start-up (`up` has usually done it
    already: then this is one read of the version) and its engine disposed at shutdown.

    `resources` (HTTP clients and the like) are opened after the database and before `background` tasks.
    `outbox_payloads` types the outbox's events in the document: each event type's payload struct.
    Its OpenAPI document is served at `/schema/openapi.json`; `admin_scheme` names the security scheme of
    the `admin_token` setting there.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await upgrade(schema, settings.database_url)
        db = Database.connect(settings.database_url, echo=settings.echo_sql)
        app.state.db = db
        async with AsyncExitStack() as stack:
            stack.push_async_callback(db.dispose)
            if settings.database_replica_url:
                replica = Replica(Database.connect(settings.database_replica_url), settings.replica_max_lag)
                app.state.replica = await stack.enter_async_context(replica.watching())
            if outbox_model is not None:
                await stack.enter_async_context(
                    commits_elsewhere(db.engine, outbox_model.__tablename__, db.outbox_signal)  # type: ignore[attr-defined]
                )
            for resource in resources:
                await stack.enter_async_context(resource(app))
            if background:
                jobs = [partial(task_factory, app) for task_factory in background]
                # With several workers or replicas, only the leader runs them (the others stand by).
                await stack.enter_async_context(_background_task(lead(db.engine, f"{settings.name}-jobs", jobs)))
            yield

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per outbox poll is noise
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `upgrade` logs what it changed, if anything
    outbox = [_outbox_route(outbox_model, outbox_payloads)] if outbox_model else []
    app = Litestar(
        route_handlers=[healthz, *outbox, *route_handlers],
        dependencies={"db_session": Provide(provide_session), "read_session": Provide(provide_read_session)},
        lifespan=[lifespan],
        state=State({"settings": settings, "replica": None, **(state or {})}),
        exception_handlers={**EXCEPTION_HANDLERS, **(exception_handlers or {})},
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(settings.name),
        on_app_init=[head_for_every_get],
        debug=debug,
    )
    finish_openapi(app, settings.regions, admin_scheme=admin_scheme)
    metrics = install_metrics(app, async_readers=[outbox_head(outbox_model, settings.name)] if outbox_model else [])
    if settings.database_replica_url:
        metrics.read(replica_metrics)
    instrument(app, settings.name, settings)  # a log line and (tracing on) a server span per request
    return app


@asynccontextmanager
async def _background_task(work: Awaitable[None]) -> AsyncIterator[None]:
    task = asyncio.ensure_future(work)
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
