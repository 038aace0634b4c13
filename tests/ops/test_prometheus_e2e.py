"""End to end with a real Prometheus: it scrapes every service of a running stack and the Varnish exporter, loads
the repository's rules; a hung catalog puts `UpstreamReadsFailing` for the catalog in its alerts, a stopped Varnish
node `VarnishDown` for that node."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from edge_config.ports import free_port
from edge_config.varnish import Varnish
from edge_config.varnish_exporter import VarnishExporter
from loadtests.cluster import TOKEN, Cluster
from stack.processes import stop
from tests.edge_config.conftest import varnishd  # noqa: F401 - the fixture
from tests.ops.test_prometheus_rules import RULES

_DEADLINE = 120.0  # seconds to wait for anything Prometheus should show; generous for a shared 2-core machine
# The alert reads a 2 m rate: after recovery it clears once healthy reads outweigh the failed ones in that
# window (healthy traffic speeds it up) or the failures leave it, so at most 2 m plus a few evaluations.
_RECOVERY_DEADLINE = 240.0


@pytest.fixture(scope="module")
def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus is required under CI=true (apt-get install prometheus)")
        pytest.skip("prometheus is not installed (Debian package prometheus)")
    return binary


@dataclass
class Edges:
    """A Varnish node per region in front of the origin, and the exporter of their counters, as `up` runs them."""

    nodes: dict[str, Varnish]
    exporter: VarnishExporter


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Backends, invalidator and an origin without its page cache, so every product page reads the catalog."""
    cluster = Cluster(data_dir=tmp_path_factory.mktemp("stack"))
    try:
        subprocess.run(
            [sys.executable, "-m", "storefront", "seed", "--products", "60"],
            env=cluster.env(),
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=300,
        )
        cluster.start_backends()
        cluster.invalidator()
        cluster.origin(STOREFRONT_PAGE_CACHE="off")
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def edges(cluster: Cluster, varnishd: str) -> Iterator[Edges]:  # noqa: F811
    nodes, _ = cluster.edges()
    exporter = VarnishExporter(
        {(node.region.code, urlsplit(node.url).netloc): node.workdir / "n" for node in nodes}, free_port()
    )
    try:
        for node in nodes:
            node.origin_url = _origin(cluster)
            node.start()
        exporter.start()
        yield Edges({node.region.code: node for node in nodes}, exporter)
    finally:
        exporter.stop()
        for node in nodes:
            node.stop()


def _origin(cluster: Cluster) -> str:
    """The one process the fixture started that is neither a backend nor the invalidator."""
    others = {*cluster.backends.values(), cluster.invalidator_url}
    return next(url for url in cluster.processes if url not in others)


def _config(cluster: Cluster, edges: Edges, rules: Path) -> dict[str, Any]:
    """The scrape jobs of docs/METRICS.md, every second, so rules see fresh rates within seconds."""
    services = [*cluster.backends.values(), cluster.invalidator_url]
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": "storefront",
                "static_configs": [{"targets": [url.removeprefix("http://") for url in services]}],
            },
            {
                "job_name": "storefront-origin",
                "metrics_path": "/internal/prometheus",
                "authorization": {"credentials": TOKEN},
                "static_configs": [{"targets": [_origin(cluster).removeprefix("http://")]}],
            },
            {
                "job_name": "varnish",
                # A stopped node takes varnishstat up to its 1 s attach timeout to report: room for that.
                "scrape_interval": "2s",
                "scrape_timeout": "2s",
                "static_configs": [{"targets": [urlsplit(edges.exporter.url).netloc]}],
            },
        ],
    }


@pytest.fixture(scope="module")
def prometheus(
    prometheus_binary: str, cluster: Cluster, edges: Edges, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Prometheus on a free loopback port with its own storage, loading the repository's rule file as is."""
    work = tmp_path_factory.mktemp("prometheus")
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump(_config(cluster, edges, RULES / "storefront.rules.yml")))
    url = f"http://127.0.0.1:{free_port()}"
    command = [prometheus_binary, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}"]
    command += [f"--web.listen-address={url.removeprefix('http://')}", "--log.level=warn"]
    log = (work / "prometheus.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _until(lambda: _ready(url), f"Prometheus ready at {url}", process, work / "prometheus.log")
        yield url
    finally:
        stop([process])
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


def _until(
    check: Any,
    what: str,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    step: Any = None,
    within: float = _DEADLINE,
) -> Any:
    """Polls `check` (calling `step` between polls, e.g. to drive traffic) until it returns something true."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process exited ({log.read_text() if log else ''})")
        if result := check():
            return result
        if step is not None:
            step()
        else:
            time.sleep(0.5)  # a poll interval, not a synchronisation: the deadline bounds the wait
    raise AssertionError(f"{what}: not within {within:.0f} s")


def _api(prometheus: str, path: str, **params: str) -> Any:
    answer = httpx.get(f"{prometheus}/api/v1/{path}", params=params, timeout=10.0).json()
    assert answer["status"] == "success", answer
    return answer["data"]


def _product_pages(cluster: Cluster, count: int) -> list[str]:
    items = httpx.get(
        f"{cluster.backends['catalog']}/products", params={"region": "us", "page_size": count}, timeout=10.0
    ).json()["items"]
    return [f"{_origin(cluster)}/us/en/p/{item['slug']}" for item in items]


def _browse(pages: list[str]) -> None:
    for page in pages:
        # A page may be degraded or refused while an upstream hangs: only the reads behind it matter here.
        httpx.get(page, timeout=10.0)


def test_prometheus_scrapes_every_service_and_alerts_on_a_hung_catalog(
    prometheus: str, cluster: Cluster, edges: Edges
) -> None:
    pages = _product_pages(cluster, 3)
    assert len(pages) == 3
    for page in pages:
        assert httpx.get(page, timeout=10.0).status_code == 200
    services = {url.removeprefix("http://") for url in cluster.processes}
    assert len(services) == 6  # four backends, the invalidator, the origin
    targets = services | {urlsplit(edges.exporter.url).netloc}  # and the Varnish exporter

    def all_up() -> bool:
        active = _api(prometheus, "targets", state="active")["activeTargets"]
        return {t["labels"]["instance"] for t in active if t["health"] == "up"} == targets

    _until(all_up, "every target up")

    def every_service_measured() -> bool:
        result = _api(prometheus, "query", query="sum by (job, instance) (http_server_request_duration_seconds_count)")
        return {series["metric"]["instance"] for series in result["result"]} == services

    _until(every_service_measured, "http_server_request_duration_seconds_count of every service")
    jobs = _api(prometheus, "query", query="count by (job) (http_server_request_duration_seconds_count)")["result"]
    assert {series["metric"]["job"] for series in jobs} == {"storefront", "storefront-origin"}
    # Healthy, nothing about upstreams is pending or firing.
    assert not [a for a in _api(prometheus, "alerts")["alerts"] if a["labels"]["alertname"].startswith("Upstream")]

    catalog = cluster.processes[cluster.backends["catalog"]]

    def catalog_alert() -> dict[str, Any] | None:
        return next(
            (
                alert
                for alert in _api(prometheus, "alerts")["alerts"]
                if alert["labels"]["alertname"] == "UpstreamReadsFailing"
                and alert["labels"].get("upstream") == "catalog"
                and alert["state"] in ("pending", "firing")
            ),
            None,
        )

    os.kill(catalog.pid, signal.SIGSTOP)
    try:
        # The rule has `for: 1m`: pending as soon as over 10% of catalog reads in 2 m fail, firing a minute later.
        alert = _until(catalog_alert, "UpstreamReadsFailing{upstream=catalog} pending", step=lambda: _browse(pages))
        # Product pages need the catalog, so they fail: the availability SLI's recording rule sees them, which
        # also proves its route regex matches the origin's route templates.
        _until(
            lambda: _api(prometheus, "query", query='slo:sli_error:ratio_rate5m{slo="availability"} > 0')["result"],
            "the availability SLI counts the failed product pages",
            step=lambda: _browse(pages),
        )
    finally:
        os.kill(catalog.pid, signal.SIGCONT)
    assert alert["labels"]["severity"] == "page"
    # Pricing kept answering and is read only after the product, so it never shares the catalog's alert. The CMS
    # may: its reads run beside the catalog's, and a page that gives up on a failed critical read counts the CMS
    # reads it stopped waiting for as `timeout` too (docs/METRICS.md), which the rule reads as failures.
    failing = {
        a["labels"].get("upstream")
        for a in _api(prometheus, "alerts")["alerts"]
        if a["labels"]["alertname"] == "UpstreamReadsFailing"
    }
    assert "catalog" in failing and "pricing" not in failing

    _until(
        lambda: catalog_alert() is None,
        "the catalog's alert clears",
        step=lambda: _browse(pages),
        within=_RECOVERY_DEADLINE,
    )


def test_the_edges_counters_reach_prometheus_and_a_stopped_node_pages(prometheus: str, edges: Edges) -> None:
    us = edges.nodes["us"]
    node = urlsplit(us.url).netloc
    for _ in range(3):
        assert httpx.get(f"{us.url}/us/en/", timeout=10.0).status_code == 200

    def counted() -> bool:
        query = f'varnish_client_requests_total{{job="varnish", region="us", node="{node}"}} >= 3'
        return bool(_api(prometheus, "query", query=query)["result"])

    _until(counted, "the us node's requests in Prometheus")
    up = _api(prometheus, "query", query='varnish_up{job="varnish"}')["result"]
    assert {(s["metric"]["region"], s["metric"]["node"], s["value"][1]) for s in up} == {
        (code, urlsplit(varnish.url).netloc, "1") for code, varnish in edges.nodes.items()
    }
    assert not [a for a in _api(prometheus, "alerts")["alerts"] if a["labels"]["alertname"] == "VarnishDown"]

    us.stop()  # varnishstat finds no such instance: the exporter reports the node down, the rest still up

    def paged() -> dict[str, Any] | None:
        return next(
            (
                alert
                for alert in _api(prometheus, "alerts")["alerts"]
                if alert["labels"]["alertname"] == "VarnishDown" and alert["state"] in ("pending", "firing")
            ),
            None,
        )

    alert = _until(paged, "VarnishDown pending")
    assert (alert["labels"]["region"], alert["labels"]["node"], alert["labels"]["severity"]) == ("us", node, "page")
    still_up = _api(prometheus, "query", query='varnish_up{job="varnish"} == 1')["result"]
    assert {s["metric"]["region"] for s in still_up} == {"eu", "apac"}
