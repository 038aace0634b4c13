"""Runs the stack: one process per service on its own loopback port, health-checked, supervised, stopped together."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from stack.settings import Settings
from stack.supervisor import Supervisor, Unit, stop_all

if TYPE_CHECKING:
    from edge_config.varnish import Varnish
    from edge_config.varnish_exporter import VarnishExporter

# service name -> app factory, in start order; stopped in reverse. A service comes after those it long-polls (the
# catalog follows checkout's stock and pricing's prices, the invalidator every outbox), so no long poll is left
# waiting on a server that is shutting down.
SERVICES: dict[str, str] = {
    "checkout": "backends.checkout.app:create_app",
    "pricing": "backends.pricing.app:create_app",
    "catalog": "backends.catalog.app:create_app",
    "cms": "backends.cms.app:create_app",
    "origin": "storefront.app:create_app",
    "invalidator": "cache.invalidation.service:create_app",
}


def service_url(settings: Settings, name: str) -> str:
    return getattr(settings, name).url


def serve(settings: Settings, name: str) -> None:
    """Run one service in this process (what `up` runs in each child), logging through `backends.common.logs`: one
    worker under uvicorn, several under granian, which spread the connections of one port over its workers where
    uvicorn's did not (the harness's workers section: 2 uvicorn workers served 1.00x one, 2 granian workers 1.96x)."""
    target = getattr(settings, name)
    host = listen_host(settings, name)
    workers = worker_count(settings, name)
    if workers > 1:
        from granian.constants import Interfaces
        from granian.server import Server

        server = Server(
            SERVICES[name],
            address=host,
            port=target.port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            respawn_failed_workers=True,  # a worker that dies is replaced
            log_level=target.log_level,
            workers_kill_timeout=5,
        )
        _configure_logging(name, target.log_level, target.log_format)  # after granian's own set-up, replacing it
        # Each worker builds its app and then takes over its own logging, as a single uvicorn process does.
        server.serve(target_loader=partial(_logged_app, name, target.log_level, target.log_format))
        return
    import uvicorn

    app = _logged_app(name, target.log_level, target.log_format, SERVICES[name])
    uvicorn.run(
        app,
        host=host,
        port=target.port,
        log_config=None,  # uvicorn's own lines go through our handler, not the one it would install
        log_level=target.log_level,
        access_log=False,  # the service writes its own request line, with route template and trace ids
        server_header=False,  # no software and version for a scanner to read off every answer
        timeout_graceful_shutdown=5,
    )


def listen_host(settings: Settings, name: str) -> str:
    """The address `name` binds: `STOREFRONT_LISTEN_HOST` if set, else the host of its own URL."""
    return settings.listen_host or getattr(settings, name).host


def _logged_app(name: str, level: str, fmt: str, factory: str) -> Any:
    """Build the service's app, then configure logging: Litestar installs a handler of its own as an app is built.
    Module-level and given plain strings, so granian can hand it to a worker however it starts one."""
    from uvicorn.importer import import_from_string

    app = import_from_string(factory)()
    _configure_logging(name, level, fmt)
    return app


def _configure_logging(name: str, level: str, fmt: str) -> None:
    from backends.common.logs import configure_logging
    from backends.common.settings import secret_values

    configure_logging(service=name, level=level, fmt=fmt, secrets=secret_values(os.environ))


def worker_count(settings: Settings, name: str) -> int:
    """How many processes serve `name`."""
    workers: int = getattr(getattr(settings, name), "workers", 1)  # the invalidator runs one: see its settings
    if workers > 1 and name == "origin" and settings.origin.page_cache:
        raise SystemExit(
            "STOREFRONT_ORIGIN_WORKERS > 1 needs STOREFRONT_PAGE_CACHE=off (an edge in front): each worker's own "
            "page cache would miss the purges sent to the others"
        )
    return workers


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
            with contextlib.suppress(ProcessLookupError):  # the whole group: a service's workers too
                os.killpg(process.pid, signal.SIGKILL)
            process.kill()
            process.wait()


class ServiceUnit:
    """A service as a child process of `up`, for the supervisor."""

    def __init__(self, name: str, url: str, env: dict[str, str]) -> None:
        self.name = name
        self.url = url
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        self.process = spawn(self.name, self.env)

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def healthy(self) -> bool:
        # The origin's /healthz is 503 while it sheds load: a busy origin is alive, so ask /livez there.
        probe = "/livez" if self.name == "origin" else "/healthz"
        try:
            return httpx.get(f"{self.url}{probe}", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop([self.process])


class EdgeUnit:
    """One Varnish node of a region, for the supervisor; `start` returns once it answers."""

    def __init__(self, varnish: Varnish, name: str) -> None:
        self.varnish = varnish
        self.name = name
        self.url = varnish.url
        self.node = urlsplit(varnish.url).netloc  # the node's label in the exporter's series

    @property
    def pid(self) -> int | None:
        return self.varnish.process.pid if self.varnish.process is not None else None

    def start(self) -> None:
        from edge_config.varnish import VarnishUnavailable

        self.varnish.workdir.mkdir(parents=True, exist_ok=True)  # `Varnish.stop` removes it
        try:
            self.varnish.start()
        except VarnishUnavailable:
            if self.varnish.process is not None:  # it may still run after a start that timed out
                stop([self.varnish.process])
            raise

    def exit_code(self) -> int | None:
        return self.varnish.process.poll() if self.varnish.process is not None else None

    def healthy(self) -> bool:
        return True  # `start` only returns once it answered

    def stop(self) -> None:
        self.varnish.stop()


def run_stack(
    settings: Settings,
    names: Sequence[str] = tuple(SERVICES),
    *,
    edge: str = "origin",
    infrastructure: Sequence[Unit] = (),
    startup_timeout: float = 30.0,
) -> int:
    """Start `infrastructure` (the production profile's Redis), every service and, with `edge="varnish"`, every
    Varnish node of every region; print the URLs, restart whatever crashes, and stop everything in reverse order
    on SIGINT/SIGTERM. Anything that does not come up at start-up stops the stack (exit 1)."""
    from edge_config.varnish import Varnish, VarnishUnavailable
    from edge_config.varnish_exporter import VarnishExporter

    env = os.environ.copy()
    if edge == "varnish":
        env |= {"STOREFRONT_PAGE_CACHE": "off", "STOREFRONT_EDGE": "varnish"}
        # Nothing purges the origin's CMS copies when Varnish is the cache, so don't reuse them.
        env.setdefault("STOREFRONT_CMS_CACHE_TTL", "0")
    services = [ServiceUnit(name, service_url(settings, name), env) for name in names]
    edges = [
        EdgeUnit(
            Varnish(
                region=region,
                url=e.get("url"),
                origin_url=settings.origin.url,
                vcl_options={"grace": settings.edge_grace, "geo_header": settings.origin.geo_header.title()},
            ),
            name=f"varnish {region.code}" + (f" #{node + 1}" if len(region.edges_of("varnish")) > 1 else ""),
        )
        for region in settings.regions
        for node, e in enumerate(region.edges_of("varnish"))
        if edge == "varnish"
    ]
    exporter = VarnishExporter(
        {(unit.varnish.region.code, unit.node): unit.varnish.workdir / "n" for unit in edges},
        settings.varnish_exporter_port,
    )
    stop_requested = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for unit in infrastructure:
            unit.start()
        for service in services:
            service.start()
        deadline = time.monotonic() + startup_timeout
        for service in services:
            assert service.process is not None
            wait_healthy(service.name, service.url, service.process, deadline)
        for varnish in edges:
            varnish.start()
        if edges:
            exporter.start()
        _print_urls(settings, [*infrastructure, *services], edges)
        _print_metrics(settings, services, exporter if edges else None)
        Supervisor([*infrastructure, *services, *edges], log=_log).run(lambda: stop_requested)
        print("stopping…", flush=True)
        return 0
    except (RuntimeError, VarnishUnavailable, OSError) as exc:  # OSError: the exporter's port is taken
        print(f"could not start the stack: {exc}", file=sys.stderr)
        return 1
    finally:
        exporter.stop()
        stop_all([*infrastructure, *services, *edges])
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_metrics(settings: Settings, services: Sequence[ServiceUnit], exporter: VarnishExporter | None) -> None:
    """Where Prometheus scrapes: `/metrics` on each service; the origin's behind the admin token (shoppers reach
    the origin); the Varnish exporter when edges run."""
    width = max(len(s.name) for s in services)
    lines = [
        f"  {s.name:<{width}}  {s.url}/internal/prometheus   (Authorization: Bearer <admin token>)"
        if s.name == "origin"
        else f"  {s.name:<{width}}  {s.url}/metrics"
        for s in services
    ]
    if exporter is not None:
        lines.append(f"  {'varnish':<{width}}  {exporter.url}   (every Varnish node)")
    print("Prometheus metrics:", *lines, sep="\n", flush=True)


def _log(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def _print_urls(settings: Settings, units: Sequence[Unit], edges: Sequence[EdgeUnit]) -> None:
    width = max(len(unit.name) for unit in [*units, *edges])
    lines = [f"  {u.name:<{width}}  {getattr(u, 'url', '')}" for u in [*units, *edges]]
    print("The shop is up:", *lines, sep="\n")
    example = next(iter(settings.regions)).code
    front: dict[str, str] = {}
    for e in edges:
        front.setdefault(e.varnish.region.code, e.url)  # a region's first node
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
