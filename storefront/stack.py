"""Runs the stack: one process per service on its own loopback port, health-checked, stopped together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from storefront.settings import Settings

# service name -> app factory; `up` starts them in this order.
SERVICES: dict[str, str] = {
    "catalog": "backends.catalog.app:create_app",
    "pricing": "backends.pricing.app:create_app",
    "cms": "backends.cms.app:create_app",
    "checkout": "backends.checkout.app:create_app",
    "origin": "storefront.app:create_app",
    "invalidator": "cache.service:create_app",
}


def free_port() -> int:
    """A free TCP port on loopback (for the stacks that tests and benchmarks start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_url(settings: Settings, name: str) -> str:
    return getattr(settings, name).url


def serve(settings: Settings, name: str) -> None:
    """Run one service in this process (what `up` runs in each child)."""
    import uvicorn

    target = getattr(settings, name)
    uvicorn.run(
        SERVICES[name],
        factory=True,
        host=target.host,
        port=target.port,
        log_level=os.environ.get("STOREFRONT_LOG_LEVEL", "warning"),
        access_log=False,
        timeout_graceful_shutdown=5,
    )


@dataclass
class _Child:
    name: str
    url: str
    process: subprocess.Popen[bytes]


def spawn(name: str, env: dict[str, str] | None = None, *, quiet: bool = False) -> subprocess.Popen[bytes]:
    """Start `storefront serve NAME` as a child process in its own session (Ctrl-C reaches only us)."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-m", "storefront", "serve", name],
        env=env if env is not None else os.environ.copy(),
        start_new_session=True,
        stdout=subprocess.DEVNULL if quiet else None,
    )


def wait_healthy(name: str, url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} while starting")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not become healthy at {url}")


def stop(processes: Sequence[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """SIGTERM everything, then SIGKILL whatever has not exited after `grace` seconds."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_stack(
    settings: Settings, names: Sequence[str] = tuple(SERVICES), *, edge: str = "origin", startup_timeout: float = 30.0
) -> int:
    """Start every service (and with `edge="varnish"` one Varnish per region), print the URLs, and block
    until SIGINT/SIGTERM or a child dies."""
    from edge_config.varnish import Varnish, VarnishUnavailable

    env = os.environ.copy()
    if edge == "varnish":
        env |= {"STOREFRONT_PAGE_CACHE": "off", "STOREFRONT_EDGE": "varnish"}
        # Nothing purges the origin's CMS copies when Varnish is the cache, so don't reuse them.
        env.setdefault("STOREFRONT_CMS_CACHE_TTL", "0")
    edges = [
        Varnish(region=region, url=e.url, origin_url=settings.origin.url)
        for region in settings.regions
        for e in region.edges_of("varnish")
        if edge == "varnish"
    ]
    stop_requested = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    children: list[_Child] = []
    try:
        for name in names:
            children.append(_Child(name, service_url(settings, name), spawn(name, env)))
        deadline = time.monotonic() + startup_timeout
        for child in children:
            wait_healthy(child.name, child.url, child.process, deadline)
        for varnish in edges:
            varnish.start()
        _print_urls(settings, children, edges)
        while not stop_requested:
            dead = next((c for c in children if c.process.poll() is not None), None)
            if dead is not None:
                print(f"{dead.name} exited with {dead.process.returncode}; stopping the stack", file=sys.stderr)
                return 1
            time.sleep(0.2)
        print("stopping…", flush=True)
        return 0
    except (RuntimeError, VarnishUnavailable) as exc:
        print(f"could not start the stack: {exc}", file=sys.stderr)
        return 1
    finally:
        for varnish in edges:
            varnish.stop()
        stop([c.process for c in children])
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_urls(settings: Settings, children: Sequence[_Child], edges: Sequence[Any]) -> None:
    width = max(len(c.name) for c in children)
    lines = [f"  {c.name:<{width}}  {c.url}" for c in children]
    lines += [f"  {'varnish ' + v.region.code:<{width}}  {v.url}" for v in edges]
    print("The shop is up:", *lines, sep="\n")
    example = next(iter(settings.regions)).code
    front = {v.region.code: v.url for v in edges}
    shop_urls = [
        f"  {front.get(r.code, settings.origin.url)}/{r.code}/{r.default_locale.split('-')[0]}/"
        for r in settings.regions
    ]
    print("Open the shop" + (" (through each region's Varnish)" if edges else "") + ":", *shop_urls, sep="\n")
    print(
        "APIs:",
        f"  {settings.catalog.url}/products?region={example}&q=jacket",
        f"  {settings.pricing.url}/prices?region={example}&skus=SKU-00001-1",
        f"  {settings.cms.url}/delivery/entries?locale=en-US",
        "Press Ctrl-C to stop.",
        sep="\n",
        flush=True,
    )
