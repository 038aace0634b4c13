"""Real Varnish for the edge tests, and a small recording HTTP server to stand behind it or for CDN APIs."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from storefront.stack import free_port

Handler = Callable[[dict[str, Any]], tuple[int, dict[str, str], bytes]]


@pytest.fixture(scope="session")
def varnishd() -> str:
    binary = shutil.which("varnishd") or "/usr/sbin/varnishd"
    if not os.path.exists(binary) or not os.path.exists("/usr/lib/x86_64-linux-gnu/varnish/vmods/libvmod_xkey.so"):
        if os.environ.get("CI") == "true":
            pytest.fail("varnish and varnish-modules are required under CI=true")
        pytest.skip("varnish or varnish-modules is not installed")
    return binary


@dataclass
class Recorder:
    """An HTTP server on loopback that records every request and answers through `handler`."""

    handler: Handler
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope.get("query_string", b"").decode(),
            "headers": {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            "body": body,
        }
        self.requests.append(request)
        status, headers, payload = self.handler(request)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def json_bodies(self) -> list[Any]:
        return [json.loads(r["body"]) for r in self.requests if r["body"]]


@pytest.fixture
def recorder() -> Iterator[Callable[[Handler], Recorder]]:
    servers: list[uvicorn.Server] = []

    def start(handler: Handler) -> Recorder:
        app = Recorder(handler)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=app.port, log_level="error", lifespan="off"))
        threading.Thread(target=server.run, daemon=True).start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        servers.append(server)
        return app

    yield start
    for server in servers:
        server.should_exit = True
