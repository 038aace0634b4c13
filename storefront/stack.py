"""Runs the stack: one process per service on its own loopback port, health-checked, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from storefront.settings import Settings

# service name -> app factory; `up` starts them in this order.
SERVICES: dict[str, str] = {
    "catalog": "backends.catalog.app:create_app",
    "pricing": "backends.pricing.app:create_app",
    "cms": "backends.cms.app:create_app",
    "origin": "storefront.app:create_app",
}


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


def _wait_healthy(child: _Child, deadline: float) -> None:
    while time.monotonic() < deadline:
        if child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.process.returncode} while starting")
        try:
            if httpx.get(f"{child.url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{child.name} did not become healthy at {child.url}")


def _stop(children: Sequence[_Child], grace: float = 10.0) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def run_stack(settings: Settings, names: Sequence[str] = tuple(SERVICES), *, startup_timeout: float = 30.0) -> int:
    """Start every service, print their URLs, and block until SIGINT/SIGTERM or a child dies."""
    stop_requested = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    children: list[_Child] = []
    try:
        for name in names:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
                [sys.executable, "-m", "storefront", "serve", name],
                env=os.environ.copy(),
                start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
            )
            children.append(_Child(name, service_url(settings, name), process))
        deadline = time.monotonic() + startup_timeout
        for child in children:
            _wait_healthy(child, deadline)
        _print_urls(settings, children)
        while not stop_requested:
            dead = next((c for c in children if c.process.poll() is not None), None)
            if dead is not None:
                print(f"{dead.name} exited with {dead.process.returncode}; stopping the stack", file=sys.stderr)
                return 1
            time.sleep(0.2)
        print("stopping…", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"could not start the stack: {exc}", file=sys.stderr)
        return 1
    finally:
        _stop(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_urls(settings: Settings, children: Sequence[_Child]) -> None:
    width = max(len(c.name) for c in children)
    lines = [f"  {c.name:<{width}}  {c.url}" for c in children]
    print("The shop is up:", *lines, sep="\n")
    example = next(iter(settings.regions)).code
    shop_urls = [f"  {settings.origin.url}/{r.code}/{r.default_locale.split('-')[0]}/" for r in settings.regions]
    print("Open the shop:", *shop_urls, sep="\n")
    print(
        "APIs:",
        f"  {settings.catalog.url}/products?region={example}&q=jacket",
        f"  {settings.pricing.url}/prices?region={example}&skus=SKU-00001-1",
        f"  {settings.cms.url}/delivery/entries?locale=en-US",
        "Press Ctrl-C to stop.",
        sep="\n",
        flush=True,
    )
