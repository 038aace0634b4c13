"""Prometheus text for every Varnish node, read from `varnishstat -j` at scrape time, served on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

# varnishstat counter -> (metric name without `_total`, help). Grace hits are the stale copies served while the
# origin revalidates or is down; xkey purges show in `n_obj_purged` (the vmod keeps no counters of its own).
COUNTERS: dict[str, tuple[str, str]] = {
    "MAIN.client_req": ("varnish_client_requests", "Client requests received."),
    "MAIN.cache_hit": ("varnish_cache_hits", "Requests served from the cache (grace hits included)."),
    "MAIN.cache_hit_grace": ("varnish_cache_grace_hits", "Hits on stale objects (grace or stale-if-error)."),
    "MAIN.cache_miss": ("varnish_cache_misses", "Requests that fetched from the origin."),
    "MAIN.cache_hitpass": ("varnish_cache_hitpasses", "Hits on a hit-for-pass object."),
    "MAIN.cache_hitmiss": ("varnish_cache_hitmisses", "Hits on a hit-for-miss object."),
    "MAIN.s_pass": ("varnish_passes", "Requests passed to the origin uncached (private routes)."),
    "MAIN.s_synth": ("varnish_synthetic_responses", "Responses Varnish made itself (403s, its own 503 page)."),
    "MAIN.backend_fail": ("varnish_backend_failures", "Connections to the origin that failed."),
    "MAIN.backend_unhealthy": ("varnish_backend_unhealthy", "Fetches not attempted: the origin was sick."),
    "MAIN.fetch_failed": ("varnish_fetch_failures", "Origin fetches that failed."),
    "MAIN.n_purges": ("varnish_purges", "Purge operations (by URL)."),
    "MAIN.n_obj_purged": ("varnish_objects_purged", "Objects removed by purges (xkey included)."),
}
GAUGES: dict[str, tuple[str, str]] = {
    "MAIN.n_object": ("varnish_objects", "Objects in the cache."),
}
STAT_TIMEOUT = 5.0  # seconds one varnishstat may take before its node is reported down
# Seconds varnishstat waits to attach to a varnishd (its own default is 5): a stopped node must be reported down
# well inside a scrape's timeout, or the whole scrape fails and every node's series goes stale instead.
ATTACH_TIMEOUT = "1"


def varnishstat(workdir: Path) -> dict[str, Any]:
    """The counters of the Varnish whose `-n` is `workdir` (the JSON of Varnish 6.5+ or the older flat one)."""
    if not workdir.exists():
        raise FileNotFoundError(workdir)
    binary = shutil.which("varnishstat") or "/usr/bin/varnishstat"
    done = subprocess.run(  # noqa: S603 - fixed binary, arguments we build
        [binary, "-j", "-t", ATTACH_TIMEOUT, "-n", str(workdir)], capture_output=True, timeout=STAT_TIMEOUT, check=True
    )
    data = json.loads(done.stdout)
    return data.get("counters", data)


def _stats_or_none(workdir: Path) -> dict[str, Any] | None:
    try:
        return varnishstat(workdir)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


@dataclass(eq=False)  # the registry keeps collectors in a dict
class VarnishCollector:
    """One scrape runs varnishstat once per node; a node that does not answer reports `varnish_up 0`."""

    workdirs: Mapping[tuple[str, str], Path]  # (region code, node address) -> the Varnish's `-n` directory

    def describe(self) -> list[Metric]:
        return []  # every name is made in `collect`

    def collect(self) -> Iterable[Metric]:
        labels = ["region", "node"]
        up = GaugeMetricFamily("varnish_up", "1 when varnishstat answered for the node.", labels=labels)
        families = {field: CounterMetricFamily(name, doc, labels=labels) for field, (name, doc) in COUNTERS.items()} | {
            field: GaugeMetricFamily(name, doc, labels=labels) for field, (name, doc) in GAUGES.items()
        }
        with ThreadPoolExecutor(max_workers=max(1, len(self.workdirs))) as pool:  # a slow node delays no other
            answers = list(zip(self.workdirs, pool.map(_stats_or_none, self.workdirs.values()), strict=True))
        for (region, node), stats in answers:
            if stats is None:
                up.add_metric([region, node], 0)
                continue
            up.add_metric([region, node], 1)
            for field, family in families.items():
                if field in stats:
                    family.add_metric([region, node], stats[field]["value"])
        yield up
        yield from families.values()


@dataclass
class VarnishExporter:
    """Serves `/metrics` (any path, in fact) on `host:port` from a daemon thread until `stop`."""

    workdirs: Mapping[tuple[str, str], Path]
    port: int
    host: str = "127.0.0.1"
    _server: WSGIServer | None = None
    _thread: Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def start(self) -> None:
        registry = CollectorRegistry()
        registry.register(VarnishCollector(self.workdirs))
        self._server, self._thread = start_http_server(self.port, addr=self.host, registry=registry)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
