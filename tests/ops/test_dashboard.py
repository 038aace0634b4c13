"""The Grafana dashboard: the committed JSON is the script's output, its panels are distinct, and every metric a
panel reads is one the services export or a recording rule of `ops/prometheus/` defines."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
from contextlib import AsyncExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from backends.catalog.app import create_app as create_catalog
from backends.checkout.app import create_app as create_checkout
from backends.cms.app import create_app as create_cms
from backends.pricing.app import create_app as create_pricing
from cache.invalidation.service import create_app as create_invalidator
from edge_config.ports import free_port
from edge_config.varnish_exporter import COUNTERS, GAUGES
from stack.settings import Settings
from storefront.app import create_app as create_origin
from tests.asgi import running
from tests.ops.test_prometheus_rules import RULES, _exported

GRAFANA = Path(__file__).resolve().parents[2] / "ops" / "grafana"
# What PromQL spells with identifiers that are not metric names; functions are recognised by their `(`.
_KEYWORDS = frozenset({"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"})
_KEYWORDS |= {"bool", "offset", "inf", "nan"}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}|\[[^\]]*\]")  # label matchers and range/subquery durations
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")


@pytest.fixture
def database_url() -> str:
    return ""


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: not functions, keywords, label names or values, durations."""
    bare = _GROUPING.sub(" ", _MATCHERS.sub(" ", _STRINGS.sub('""', expr)))
    return {name for name, call in _IDENTIFIER.findall(bare) if not call and name not in _KEYWORDS}


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dashboard", GRAFANA / "build_dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dashboard() -> dict[str, Any]:
    return json.loads((GRAFANA / "storefront.json").read_text())


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", ())]


def test_metric_names_ignores_functions_labels_and_durations() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (region, le) (rate(a_bucket{job="x",b="c{d}"}[$__rate_interval])))'
        " / on (slo) group_left (slo) (1 - slo:objective:ratio) and ignoring (le) b_total offset 5m"
    )
    assert metric_names(expr) == {"a_bucket", "slo:objective:ratio", "b_total"}


def test_the_committed_dashboard_is_the_script_output() -> None:
    assert (GRAFANA / "storefront.json").read_text() == _build_script().render()


def test_panels_are_distinct_and_read_prometheus_through_the_variables() -> None:
    dashboard = _dashboard()
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    assert len({panel["title"] for panel in panels}) == len(panels)
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["region"]["definition"].startswith("label_values(")
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], panel["title"]


async def test_every_metric_a_panel_reads_is_exported_or_recorded(settings: Settings) -> None:
    apps = [
        create_catalog(dataclasses.replace(settings.catalog, checkout_url="")),
        create_pricing(settings.pricing),
        create_cms(dataclasses.replace(settings.cms, webhook_url="")),
        create_checkout(settings.checkout),
        create_invalidator(dataclasses.replace(settings.invalidator, outboxes={})),
        create_origin(
            dataclasses.replace(settings.origin, image_workers=1, catalog_url=f"http://127.0.0.1:{free_port()}")
        ),
    ]
    exported = {"varnish_up"} | {name + "_total" for name, _ in COUNTERS.values()} | {n for n, _ in GAUGES.values()}
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(running(app))
            exported |= await _exported(app)
    groups = yaml.safe_load((RULES / "storefront.rules.yml").read_text())["groups"]
    recorded = {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}
    dashboard = _dashboard()
    read = {name for expr in _exprs(dashboard) for name in metric_names(expr)}
    # `label_values(metric, label)`: the variable's metric must exist too, or the region list stays empty.
    read |= {
        match.group(1)
        for variable in dashboard["templating"]["list"]
        if (match := re.fullmatch(r"label_values\((\w+), *\w+\)", variable.get("definition", "")))
    }
    assert read - recorded - exported == set()
    # The panels the issue asks for are there: RED, hit rate, purge lag, orders, upstream reads, shedding, backlog.
    assert {
        "http_server_request_duration_seconds_bucket",
        "varnish_cache_hits_total",
        "storefront_purge_lag_seconds_bucket",
        "storefront_orders_total",
        "storefront_upstream_read_duration_seconds_count",
        "storefront_upstream_circuit_open",
        "storefront_shed_requests_total",
        "storefront_outbox_consumed_sequence",
        "slo:sli_error:ratio_rate5m",
        "varnish_up",
    } <= read
