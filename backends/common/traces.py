"""Distributed tracing: one tracer provider per app (or none: tracing off), and W3C trace context on the wire.

`Tracing` belongs to an app (built by its factory, shut down with it), never to the module, so a test process
that builds many apps gives each its own provider and exporter. With `STOREFRONT_TRACES=off` (the default) it has
no tracer at all and callers skip span code entirely: the hot path pays one `is None` test.

Context crosses process boundaries as `traceparent`/`tracestate` headers (`inject`, `context_from_headers`) and
the outbox as a stored `traceparent` string (`current_traceparent`, `context_from_traceparent`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

_PROPAGATOR = TraceContextTextMapPropagator()  # stateless: reads and writes headers, holds nothing
_WIRE = (b"traceparent", b"tracestate")
TRACER_NAME = "storefront"


class Tracing:
    """A service's tracer, exporting as `mode` says (`off`, `console`: one JSON line per span on stdout, `otlp`:
    OTLP over HTTP to `endpoint`), or to `exporter` when one is given (tests); traces begun here are kept with
    probability `sample`."""

    def __init__(
        self,
        service: str,
        mode: str = "off",
        endpoint: str = "",
        exporter: SpanExporter | None = None,
        sample: float = 1.0,
    ):
        self.service = service
        self.tracer: Tracer | None = None
        self._provider: TracerProvider | None = None
        if exporter is None and mode == "off":
            return
        # Imported only when tracing is on: an untraced service never loads the SDK.
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        # A trace begun upstream keeps its caller's decision (the edge's, the origin's): one trace is whole or absent.
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": service}), sampler=ParentBased(TraceIdRatioBased(sample))
        )
        if exporter is not None:
            self._provider.add_span_processor(SimpleSpanProcessor(exporter))
        elif mode == "console":
            # Written as each span ends, so a reader of the stream sees it at once.
            self._provider.add_span_processor(SimpleSpanProcessor(_console_exporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        self.tracer = self._provider.get_tracer(TRACER_NAME)

    @classmethod
    def from_settings(cls, service: str, settings: Any) -> Tracing:
        """From a service's settings (`backends.common.settings.Observed`)."""
        return cls(service, settings.traces, settings.otlp_endpoint, settings.span_exporter, settings.trace_sample)

    def shutdown(self) -> None:
        """Export what is still buffered and stop (the app's shutdown)."""
        if self._provider is not None:
            self._provider.shutdown()


def _console_exporter() -> SpanExporter:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter(out=sys.stdout, formatter=lambda span: span.to_json(indent=None) + "\n")


def context_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> Context:
    """The caller's trace context from ASGI headers; an empty context (a new trace) when there is none or it is
    malformed. Never the ambient context: a service's parent is only what its caller sent."""
    carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers if name in _WIRE}
    return _PROPAGATOR.extract(carrier, context=Context()) if carrier else Context()


def inject(headers: MutableMapping[str, str]) -> None:
    """Add the current span's `traceparent` (and `tracestate`) to outgoing headers; nothing without a span."""
    _PROPAGATOR.inject(headers)


async def propagate(request: Any) -> None:
    """An httpx request hook: the request carries the current span's context (nothing without a span)."""
    _PROPAGATOR.inject(request.headers)


def current_traceparent() -> str | None:
    """The current span as a `traceparent` value, to store beside work done later (an outbox event)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def context_from_traceparent(value: str | None) -> Context:
    """A context whose remote parent is `value` (as stored by `current_traceparent`), or an empty one."""
    return _PROPAGATOR.extract({"traceparent": value}, context=Context()) if value else Context()


def links_to(traceparents: Iterable[str | None]) -> list[Link]:
    """Span links to each distinct stored trace context: one piece of work done for several traces."""
    links = []
    for value in dict.fromkeys(t for t in traceparents if t):
        context = trace.get_current_span(context_from_traceparent(value)).get_span_context()
        if context.is_valid:
            links.append(Link(context))
    return links
