"""The Prometheus rules: `promtool check rules` and `promtool test rules` pass, and every metric a rule reads is one
the services or the Varnish exporter actually export."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import yaml
from litestar import Litestar
from prometheus_client.metrics_core import Metric

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

RULES = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


@pytest.fixture
def database_url() -> str:
    return ""


@pytest.fixture(scope="module")
def promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is required under CI=true (apt-get install prometheus)")
        pytest.skip("promtool is not installed (Debian package prometheus)")
    return binary


def test_the_rules_are_valid_and_their_unit_tests_pass(promtool: str) -> None:
    for command in (["check", "rules", "storefront.rules.yml"], ["test", "rules", "storefront.rules.test.yml"]):
        done = subprocess.run([promtool, *command], cwd=RULES, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def _sample_names(families: list[Metric]) -> set[str]:
    return {family.name + suffix for family in families for suffix in _SUFFIXES.get(family.type, ("",))}


async def _exported(app: Litestar) -> set[str]:
    """Every sample name the app's registry and its readers can export, moved or not."""
    metrics = app.state.metrics
    families = list(metrics.registry.collect())
    for reader in metrics.async_readers:
        families += await reader(app.state)
    return _sample_names(families)


async def test_every_metric_a_rule_reads_is_exported(settings: Settings) -> None:
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
    rules = [
        rule
        for group in yaml.safe_load((RULES / "storefront.rules.yml").read_text())["groups"]
        for rule in group["rules"]
    ]
    recorded = {rule["record"] for rule in rules if "record" in rule}
    read = {name for rule in rules for name in _SELECTOR.findall(str(rule["expr"]))}
    assert read - recorded - exported == set()
    assert read & recorded == {name for name in recorded if name.startswith("slo:sli_error")}  # the alerts use them
    assert {"http_server_request_duration_seconds_bucket", "storefront_purge_lag_seconds_count"} <= read
