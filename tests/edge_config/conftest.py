"""Real Varnish for the edge tests, and a small recording HTTP server to stand behind it or for CDN APIs."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from edge_config import load_regions
from edge_config.ports import free_port
from edge_config.varnish import Varnish

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
    """An HTTP server on loopback that records every request and answers through `handler`.

    The handler runs in a worker thread, so it may block (on an event, or past Varnish's first-byte timeout)
    while the server keeps answering other requests, such as Varnish's health probes."""

    handler: Handler
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    # Enough workers that requests left hanging never hold up the health probe's answers.
    workers: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(64))

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
        query = scope.get("query_string", b"").decode()
        request = {
            "method": scope["method"],
            "path": scope["path"],
            "query": query,
            "target": scope.get("raw_path", b"").decode() + (f"?{query}" if query else ""),  # as Varnish sent it
            "headers": {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            "body": body,
        }
        self.requests.append(request)
        status, headers, payload = await asyncio.get_running_loop().run_in_executor(self.workers, self.handler, request)
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

    def seen(self, path: str) -> list[dict[str, Any]]:
        """The requests for one path (query aside)."""
        return [r for r in self.requests if r["path"] == path]

    def start(self) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop listening: connections to the port are refused until `start` is called again."""
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
            self.server = None


@pytest.fixture
def recorder() -> Iterator[Callable[[Handler], Recorder]]:
    servers: list[Recorder] = []

    def start(handler: Handler) -> Recorder:
        app = Recorder(handler)
        app.start()
        servers.append(app)
        return app

    yield start
    for server in servers:
        if server.server is not None:
            server.server.should_exit = True
        server.workers.shutdown(wait=False, cancel_futures=True)


EdgeFactory = Callable[..., tuple[Varnish, Recorder]]


@pytest.fixture
def edge_with(varnishd: str, recorder: Callable[[Handler], Recorder]) -> Iterator[EdgeFactory]:
    """Start a real Varnish (region eu) in front of a recorder answering through `handler`; keyword
    arguments go to `render_vcl` (grace, stale_if_error, keep, first_byte_timeout, failure_hold)."""
    started: list[Varnish] = []

    def start(handler: Handler, **vcl_options: float | bool) -> tuple[Varnish, Recorder]:
        backend = recorder(handler)
        varnish = Varnish(
            region=load_regions().get("eu"),  # type: ignore[arg-type]
            url=f"http://127.0.0.1:{free_port()}",
            origin_url=backend.url,
            vcl_options=vcl_options,
        )
        varnish.start()
        started.append(varnish)
        return varnish, backend

    yield start
    for varnish in started:
        varnish.stop()


def eventually(check: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll `check` until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False


def fetch(varnish: Varnish, target: str, headers: dict[str, str] | None = None, timeout: float = 10) -> httpx.Response:
    """GET a request target exactly as written: no client-side normalisation of slashes or dot segments."""
    address = urlsplit(varnish.url)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=timeout)
    try:
        connection.request("GET", target, headers=headers or {})
        answer = connection.getresponse()
        return httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())
    finally:
        connection.close()
