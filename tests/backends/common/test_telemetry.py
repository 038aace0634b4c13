"""The request wrapper every service installs: a server span named by the route template, its parent only what
the caller sent, a request line per request; outbox events and purges carry the trace (in-memory exporter)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from litestar import Litestar, get
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from backends.common.telemetry import instrument
from backends.common.traces import Tracing
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.conftest import ADMIN

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER = "00f067aa0ba902b7"


@get("/things/{thing:str}")
async def thing(thing: str) -> dict[str, str]:
    return {"thing": thing}


@get("/boom")
async def boom() -> None:
    raise RuntimeError("broken")


def _app(exporter: InMemorySpanExporter | None) -> Litestar:
    app = Litestar([thing, boom], logging_config=None)  # Litestar's own would take pytest's handler off the root
    settings = SimpleNamespace(
        traces="off",
        otlp_endpoint="",
        trace_sample=1.0,
        span_exporter=exporter,
        regions=SimpleNamespace(codes=("us", "eu")),
    )
    instrument(app, "catalog", settings)
    return app


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def client(exporter: InMemorySpanExporter) -> AsyncIterator[Any]:
    app = _app(exporter)
    async with running(app), client_for(app) as client:
        yield client


def _request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.name == "storefront.requests"]  # type: ignore[attr-defined]


async def test_a_server_span_per_request_named_by_its_route_under_the_callers_span(
    client: Any, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await client.get(
        "/things/sku-123", params={"region": "eu"}, headers={"traceparent": f"00-{TRACE}-{CALLER}-01"}
    )
    assert response.status_code == 200
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /things/{thing}" and span.kind == SpanKind.SERVER
    assert span.parent is not None and span.parent.is_remote
    assert (f"{span.context.trace_id:032x}", f"{span.parent.span_id:016x}") == (TRACE, CALLER)
    assert span.attributes["http.route"] == "/things/{thing}" and span.attributes["storefront.region"] == "eu"
    assert span.attributes["http.response.status_code"] == 200
    [line] = _request_lines(caplog)
    assert line == line | {"service": "catalog", "method": "GET", "route": "/things/{thing}", "status": 200}
    assert line["region"] == "eu" and line["duration_ms"] >= 0
    [record] = [r for r in caplog.records if r.name == "storefront.requests"]
    assert "sku-123" not in str(record.__dict__)  # the path itself is never logged


async def test_the_parent_is_only_what_the_caller_sent(client: Any, exporter: InMemorySpanExporter) -> None:
    """In one process (as in these tests) the caller's span is current; a service must still start a new trace
    when no `traceparent` came with the request, and ignore a malformed one."""
    outer = TracerProvider().get_tracer("caller")
    with outer.start_as_current_span("caller"):
        await client.get("/things/a")
        await client.get("/things/b", headers={"traceparent": "00-not-a-trace-01", "tracestate": "x" * 600})
    assert [span.parent for span in exporter.get_finished_spans()] == [None, None]


async def test_errors_unrouted_requests_and_unknown_regions(
    client: Any, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert (await client.get("/boom")).status_code == 500
    assert (await client.get("/nowhere/at/all", params={"region": "<script>"})).status_code == 404
    boom, nowhere = exporter.get_finished_spans()
    assert boom.name == "GET /boom" and boom.status.status_code == StatusCode.ERROR
    assert nowhere.name == "GET" and "http.route" not in nowhere.attributes
    lines = _request_lines(caplog)
    assert [(line["route"], line["status"], line["region"]) for line in lines] == [
        ("/boom", 500, None),
        (None, 404, None),
    ]
    assert [r.levelname for r in caplog.records if r.name == "storefront.requests"] == ["WARNING", "INFO"]


async def test_tracing_off_logs_without_spans(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    app = _app(None)
    assert app.state.tracing.tracer is None
    async with running(app), client_for(app) as client:
        await client.get("/things/x", params={"region": "us"})
    [line] = _request_lines(caplog)
    assert line["region"] == "us" and "trace_id" not in line


async def test_an_outbox_event_carries_the_trace_of_the_write(seeded: Settings, exporter: InMemorySpanExporter) -> None:
    from backends.pricing.app import create_app

    app = create_app(dataclasses.replace(seeded.pricing, span_exporter=exporter))
    async with running(app), client_for(app) as client:
        headers = ADMIN | {"traceparent": f"00-{TRACE}-{CALLER}-01"}
        assert (await client.put("/admin/prices/eu/SKU-00004-1", json={"list": "99.90"}, headers=headers)).is_success
        [event] = (await client.get("/admin/outbox", headers=ADMIN)).json()["events"]
    write = next(s for s in exporter.get_finished_spans() if s.name.startswith("PUT "))
    assert event["traceparent"] == f"00-{TRACE}-{write.context.span_id:016x}-01"


async def test_a_purge_span_is_a_child_of_its_event_or_linked_to_each(exporter: InMemorySpanExporter) -> None:
    from cache.invalidation.store import Due
    from cache.invalidation.targets import EdgeId
    from cache.invalidation.workers import _delivery

    class Edge:
        async def purge(self, region: str, keys: list[str], urls: list[str], *, soft: bool) -> int:
            return len(keys)

    tracer = Tracing("invalidator", exporter=exporter).tracer
    first, second = f"00-{TRACE}-{CALLER}-01", f"00-{'1' * 32}-{'2' * 16}-01"

    def due(keys: tuple[str, ...], traceparent: str) -> Due:
        return Due("1", "p", "eu", EdgeId("varnish", "x"), keys, (), True, False, 0, traceparent=traceparent)

    assert await _delivery(tracer, Edge(), "eu", EdgeId("varnish", "x"), [due(("a",), first)], True) == (1, None)
    both = [due(("a",), first), due(("b",), second)]
    assert await _delivery(tracer, Edge(), "eu", EdgeId("varnish", "x"), both, True) == (2, None)
    alone, shared = exporter.get_finished_spans()
    assert alone.name == "purge varnish" and f"{alone.context.trace_id:032x}" == TRACE
    assert alone.parent is not None and f"{alone.parent.span_id:016x}" == CALLER
    assert shared.parent is None and {f"{link.context.trace_id:032x}" for link in shared.links} == {TRACE, "1" * 32}
