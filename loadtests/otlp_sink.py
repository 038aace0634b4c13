"""An OTLP/HTTP trace endpoint on loopback that accepts and counts exports, so the harness can price tracing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from edge_config.ports import free_port


@dataclass
class OtlpSink:
    url: str
    exports: int = 0
    bytes: int = 0


@contextmanager
def otlp_sink() -> Iterator[OtlpSink]:
    """A collector stand-in that answers every export 200 at once: what is measured is the services' cost."""
    port = free_port()
    sink = OtlpSink(f"http://127.0.0.1:{port}/v1/traces")
    lock = threading.Lock()

    class _Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                sink.exports += 1
                sink.bytes += len(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
