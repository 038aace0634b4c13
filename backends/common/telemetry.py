"""Per-request telemetry for every service: one log line and, with tracing on, one server span per request.

`instrument(app, service, settings)` wraps the app's whole ASGI handler (outside routing and the exception
handlers), so 404s, 405s and unhandled errors are seen with their final status, and gives the app its `Tracing`
(`app.state.tracing`), shut down with the app. The span is named by the route template (`GET /p/{product}`),
never the raw path, and its parent is only what the caller sent in `traceparent`.

The request line names the route template, never the path or query string (a cart id, a search, a token may be
in them), and no header or body: what a request line may hold is decided here, not by the redaction filter.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry.trace import SpanKind, StatusCode, Tracer

from backends.common.traces import Tracing, context_from_headers

_log = logging.getLogger("storefront.requests")
# Polled every second or so by supervisors, edges and Prometheus: logged at DEBUG only.
_PROBES = ("/healthz", "/livez", "/metrics", "/internal/prometheus")


def instrument(app: Litestar, service: str, settings: Any) -> Tracing:
    """Install the request line and server span on `app` (after it is built); `settings` is the service's own
    (`backends.common.settings.Observed`, with `regions`)."""
    tracing = Tracing.from_settings(service, settings)
    app.state.tracing = tracing
    app.asgi_handler = RequestTelemetry(app.asgi_handler, service, tracing.tracer, frozenset(settings.regions.codes))
    app.on_shutdown.append(tracing.shutdown)
    return tracing


class RequestTelemetry:
    """The ASGI wrapper `instrument` installs."""

    def __init__(self, app: ASGIApp, service: str, tracer: Tracer | None, regions: frozenset[str]) -> None:
        self.app = app
        self.service = service
        self.tracer = tracer
        self.regions = regions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an error that escaped every handler

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if self.tracer is None:
            try:
                await self.app(scope, receive, watched)
            finally:
                self._log(scope, status, started)
            return
        parent = context_from_headers(scope["headers"])
        with self.tracer.start_as_current_span(scope["method"], context=parent, kind=SpanKind.SERVER) as span:
            try:
                await self.app(scope, receive, watched)
            finally:
                route = scope.get("path_template")
                if route:
                    span.update_name(f"{scope['method']} {route}")
                    span.set_attribute("http.route", route)
                span.set_attribute("http.request.method", scope["method"])
                span.set_attribute("http.response.status_code", status)
                if (region := self._region(scope)) is not None:
                    span.set_attribute("storefront.region", region)
                if status >= 500:
                    span.set_status(StatusCode.ERROR)
                self._log(scope, status, started)  # inside the span: the line carries its ids

    def _region(self, scope: Scope) -> str | None:
        """The shop region the request is for: a `{region}` path parameter or a `region` query parameter, and
        only one of the configured codes (never arbitrary input)."""
        region = (scope.get("path_params") or {}).get("region")
        if region is None:
            query: bytes = scope.get("query_string", b"")
            if b"region=" in query:
                for pair in query.split(b"&"):
                    if pair.startswith(b"region="):
                        region = pair[7:].decode("latin-1")
                        break
        return region if region in self.regions else None

    def _log(self, scope: Scope, status: int, started: float) -> None:
        level = logging.DEBUG if scope["path"].startswith(_PROBES) else logging.INFO
        if status >= 500:
            level = logging.WARNING
        if not _log.isEnabledFor(level):
            return
        fields = {
            "service": self.service,
            "method": scope["method"],
            "route": scope.get("path_template"),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "region": self._region(scope),
        }
        _log.log(level, "request", extra={"fields": fields})
