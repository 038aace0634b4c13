"""Where spans go: nowhere when off, one JSON line each on stdout for `console`, OTLP over HTTP for `otlp`."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from backends.common.traces import Tracing, context_from_traceparent, current_traceparent


def test_off_has_no_tracer() -> None:
    assert Tracing("catalog").tracer is None and current_traceparent() is None


def test_console_writes_a_json_line_per_span(capsys: pytest.CaptureFixture[str]) -> None:
    tracing = Tracing("pricing", "console")
    assert tracing.tracer is not None
    parent = context_from_traceparent(f"00-{'a' * 32}-{'b' * 16}-01")
    with tracing.tracer.start_as_current_span("GET /prices", context=parent):
        assert current_traceparent() is not None and current_traceparent().startswith(f"00-{'a' * 32}-")  # type: ignore[union-attr]
    tracing.shutdown()
    [span] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert span["name"] == "GET /prices" and span["parent_id"] == f"0x{'b' * 16}"
    assert span["resource"]["attributes"]["service.name"] == "pricing"


def test_otlp_posts_spans_to_the_endpoint() -> None:
    received: list[tuple[str, str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        tracing = Tracing("catalog", "otlp", f"http://127.0.0.1:{server.server_port}/v1/traces")
        assert tracing.tracer is not None
        with tracing.tracer.start_as_current_span("GET /products/{id}"):
            pass
        tracing.shutdown()  # exports what the batch holds
    finally:
        server.shutdown()
        thread.join(timeout=10)
    [(path, content_type, body)] = received
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert b"GET /products/{id}" in body and b"catalog" in body


def test_a_sample_keeps_that_share_of_new_traces_and_follows_the_callers_decision() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracing = Tracing("origin", exporter=exporter, sample=0.0)
    assert tracing.tracer is not None
    with tracing.tracer.start_as_current_span("GET /"):  # begun here: sampled out, and said so downstream
        traceparent = current_traceparent()
        assert traceparent is None or int(traceparent.rsplit("-", 1)[1], 16) & 0x01 == 0
    kept = context_from_traceparent(f"00-{'c' * 32}-{'d' * 16}-01")
    with tracing.tracer.start_as_current_span("GET /prices", context=kept):  # the caller kept it: so do we
        pass
    tracing.shutdown()
    assert [span.name for span in exporter.get_finished_spans()] == ["GET /prices"]
