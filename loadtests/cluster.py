"""The processes a benchmark or load test starts on loopback: backends, origins, proxies, Varnish edges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from edge_config import load_regions
from edge_config.ports import free_node_port, free_port
from edge_config.varnish import Varnish
from stack.processes import spawn, stop, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-admin"  # noqa: S105 - a throwaway token for processes the harness starts and stops
BACKENDS = ("checkout", "pricing", "catalog", "cms")  # the catalog after the two whose outboxes it follows


def stop_children_on_sigterm() -> None:
    """`timeout`, CI and operators stop a run with SIGTERM: raise SystemExit instead of dying at once, so the
    `finally` blocks stop the services (each in a session of its own, so the signal does not reach them)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


@dataclass
class Cluster:
    """Child processes of one benchmark run; everything is stopped at the end, whatever happens."""

    data_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    backends: dict[str, str] = field(default_factory=dict)
    invalidator_url: str = field(default_factory=lambda: f"http://127.0.0.1:{free_port()}")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
        env |= {"STOREFRONT_DATA_DIR": str(self.data_dir), "STOREFRONT_ADMIN_TOKEN": TOKEN}
        env |= {"STOREFRONT_LOG_LEVEL": "warning"}  # no request lines: thousands a second would flood the terminal
        env |= {"STOREFRONT_EDITOR_TOKEN": TOKEN, "STOREFRONT_INVALIDATOR_URL": self.invalidator_url}
        env |= {f"STOREFRONT_{name.upper()}_URL": url for name, url in self.backends.items()}
        return env | extra

    def invalidator(self, **extra: str) -> str:
        """The purge service, at the URL every process was told about (the CMS sends it webhooks)."""
        url = self.invalidator_url
        return self._wait("invalidator", url, spawn("invalidator", self.env(**extra), quiet=True))

    def _wait(self, name: str, url: str, process: subprocess.Popen[bytes]) -> str:
        self.processes[url] = process
        wait_healthy(name, url, process, time.monotonic() + 60)
        return url

    def start_backends(self) -> None:
        for name in BACKENDS:
            self.backends[name] = f"http://127.0.0.1:{free_port()}"
        for name in BACKENDS:
            self._wait(name, self.backends[name], spawn(name, self.env(), quiet=True))

    def service(self, name: str, url: str, **extra: str) -> str:
        """Another instance of a service at `url` (its `STOREFRONT_{NAME}_URL` and settings in `extra`)."""
        return self._wait(name, url, spawn(name, self.env(**extra), quiet=True))

    def origin(self, **extra: str) -> str:
        url = f"http://127.0.0.1:{free_port()}"
        return self._wait("origin", url, spawn("origin", self.env(STOREFRONT_ORIGIN_URL=url, **extra), quiet=True))

    def origin_served_by(self, server: str, workers: int, **extra: str) -> str:
        """The origin under a given server and worker count, whatever `storefront serve` would pick (the harness
        compares them)."""
        url = f"http://127.0.0.1:{free_port()}"
        port = url.rsplit(":", 1)[1]
        target = "storefront.app:create_app"
        if server == "granian":
            cmd = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1"]
            cmd += ["--port", port, "--workers", str(workers), "--log-level", "warning", target]
        else:
            cmd = [sys.executable, "-m", "uvicorn", "--factory", "--host", "127.0.0.1", "--port", port]
            cmd += ["--workers", str(workers), "--log-level", "warning", "--no-access-log", target]
        env = self.env(STOREFRONT_ORIGIN_URL=url, **extra)
        process = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)  # noqa: S603
        return self._wait(f"origin ({server})", url, process)

    def proxy(self, target: str, delay: float) -> str:
        port = free_port()
        cmd = [sys.executable, "-m", "loadtests.delay_proxy", "--port", str(port), "--target", target]
        process = subprocess.Popen([*cmd, "--delay", str(delay)], env=self.env(), start_new_session=True)  # noqa: S603
        return self._wait("proxy", f"http://127.0.0.1:{port}", process)

    def bare(self, slug: str, **extra: str) -> str:
        port = free_port()
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "loadtests.bare_render:create_app", "--port", str(port)]
        env = self.env(BARE_RENDER_SLUG=slug, **extra)
        process = subprocess.Popen([*cmd, "--log-level", "warning"], env=env, start_new_session=True)  # noqa: S603
        return self._wait("bare", f"http://127.0.0.1:{port}", process)

    def edges(self, nodes: int = 1, **extra: str) -> tuple[list[Varnish], dict[str, str]]:
        """`nodes` Varnish nodes per region on free ports (not started), and the environment that tells the origin
        and invalidator about them; set each edge's `origin_url` before starting it."""
        edge_ports = {r.code: free_node_port(nodes) for r in load_regions()}
        regions_file = self.data_dir / f"regions-{time.monotonic_ns()}.toml"
        source = (ROOT / "edge_config" / "regions.toml").read_text()
        for code, default in (("us", 8081), ("eu", 8082), ("apac", 8083)):
            source = source.replace(f"http://127.0.0.1:{default}", f"http://127.0.0.1:{edge_ports[code]}")
        regions_file.write_text(source)
        env = {"STOREFRONT_REGIONS_FILE": str(regions_file), "STOREFRONT_EDGE": "varnish"}
        env |= {"STOREFRONT_EDGE_NODES": str(nodes), **extra}
        catalogue = load_regions(regions_file).with_edge_nodes(nodes)
        return [
            Varnish(region=r, url=e.get("url"), origin_url="") for r in catalogue for e in r.edges_of("varnish")
        ], env

    def release(self, url: str) -> None:
        """Stop the process serving `url` (benchmarks start their own origins and drop them after)."""
        stop([self.processes.pop(url)])

    def close(self) -> None:
        """Stop in reverse order of start, so nothing spends its last seconds polling what already stopped."""
        for process in reversed(list(self.processes.values())):
            stop([process])
