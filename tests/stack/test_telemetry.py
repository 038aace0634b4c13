"""End to end, every service its own process: JSON request and purge lines with trace ids and no shopper's
secrets; one trace for a product page across origin, catalog, pricing and CMS; one from a CMS publish to a purge."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_config.ports import free_port
from stack.processes import stop, wait_healthy
from tests.backends.checkout.conftest import US_ADDRESS
from tests.storefront.conftest import Stack
from tests.storefront.test_checkout import Shopper

# Checkout's own order: the catalog follows checkout's stock, the invalidator every outbox.
SERVICES = ("checkout", "catalog", "pricing", "cms", "origin", "invalidator")
ADMIN_TOKEN = "telemetry-admin-token-0451"
EDITOR = {"Authorization": "Bearer telemetry-editor-token-0452"}
EMAIL = "grace.hopper@example.org"
CARD = {"number": "4242 4242 4242 4242", "exp_month": "12", "exp_year": "2099", "cvc": "7391"}
REQUEST_FIELDS = {"timestamp", "level", "service", "method", "route", "status", "duration_ms", "trace_id", "span_id"}


@dataclass
class Observed:
    stack: Stack
    logs: dict[str, Path]
    spans: dict[str, Path]

    def log_lines(self, service: str) -> list[dict[str, Any]]:
        text = self.logs[service].read_text()
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def all_spans(self) -> list[dict[str, Any]]:
        found = []
        for service, path in self.spans.items():
            for line in path.read_text().splitlines():
                if line.startswith("{"):
                    found.append(json.loads(line) | {"service": service})
        return found

    def trace(self, trace_id: str) -> list[dict[str, Any]]:
        return [span for span in self.all_spans() if span["context"]["trace_id"] == f"0x{trace_id}"]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    """The whole stack with JSON logs at debug level and console traces, each process's stderr (logs) and
    stdout (spans) in its own file."""
    data = tmp_path_factory.mktemp("telemetry")
    ports = {name: free_port() for name in SERVICES}
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env |= {
        "STOREFRONT_DATA_DIR": str(data / "var"),
        "STOREFRONT_ADMIN_TOKEN": ADMIN_TOKEN,
        "STOREFRONT_EDITOR_TOKEN": EDITOR["Authorization"].split()[1],
        "STOREFRONT_LOG_FORMAT": "json",
        "STOREFRONT_LOG_LEVEL": "debug",
        "STOREFRONT_TRACES": "console",
        "STOREFRONT_CMS_CACHE_TTL": "0",  # every page reads the CMS, so its read is in the page's trace
        **{f"STOREFRONT_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()},
    }
    seed = [sys.executable, "-m", "storefront", "seed", "--products", "20", "--seed", "5"]
    subprocess.run(seed, env=env, check=True, stdout=subprocess.DEVNULL)
    stack = Stack(env=env, ports=ports)
    logs = {name: data / f"{name}.log" for name in SERVICES}
    spans = {name: data / f"{name}.spans" for name in SERVICES}
    try:
        for name in SERVICES:
            with logs[name].open("wb") as err, spans[name].open("wb") as out:
                stack.processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "storefront", "serve", name], env=env, stdout=out, stderr=err
                )
            wait_healthy(name, stack.url(name), stack.processes[name], time.monotonic() + 60)
        yield Observed(stack, logs, spans)
    finally:
        stop(list(stack.processes.values()))


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not true within {timeout} s"
        time.sleep(0.05)
    return found


def traceparent(trace_id: str, span_id: str = "00f067aa0ba902b7") -> dict[str, str]:
    return {"traceparent": f"00-{trace_id}-{span_id}-01"}


def test_a_checkout_leaves_request_lines_and_no_secrets(observed: Observed) -> None:
    stack = observed.stack
    sku = httpx.get(f"{stack.url('catalog')}/products", params={"region": "us"}).json()["items"][1]["skus"][0]
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert httpx.put(f"{stack.url('checkout')}/admin/stock/us/{sku}", json={"on_hand": 5}, headers=admin).is_success
    shopper = Shopper(stack)
    shopper.token()
    assert shopper.post("/us/en/cart", {"sku": sku, "quantity": "1"}).status_code == 303
    shopper.get("/us/en/checkout")
    assert shopper.post("/us/en/checkout", {"step": "contact", "email": EMAIL}).status_code == 303
    assert shopper.post("/us/en/checkout", {"step": "address", **US_ADDRESS}).status_code == 303
    assert shopper.post("/us/en/checkout", {"step": "shipping", "method": "standard"}).status_code == 303
    page = shopper.get("/us/en/checkout")
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    total = re.search(r'name="expected_total" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    placed = shopper.post("/us/en/checkout", {"step": "place", "idempotency_key": key, "expected_total": total, **CARD})
    assert placed.status_code == 303, placed.text
    assert shopper.get(placed.headers["location"]).status_code == 200
    cookies = [value for name, value in shopper.http.cookies.items() if name in {"sf_session", "sf_cart_us"}]
    assert any(name == "sf_cart_us" for name in shopper.http.cookies)

    # The order's line from checkout and the confirmation's from the origin are written once they are answered.
    eventually(lambda: any(line.get("route") == "/orders" for line in observed.log_lines("checkout")))
    secrets = [
        "4242 4242 4242 4242",
        "4242424242424242",
        CARD["cvc"],
        EMAIL,
        EMAIL.split("@")[0],
        ADMIN_TOKEN,
        EDITOR["Authorization"].split()[1],
        shopper.csrf,
        *cookies,
    ]
    everything = "".join(path.read_text() for path in [*observed.logs.values(), *observed.spans.values()])
    leaked = [secret for secret in secrets if re.search(rf"(?<![0-9a-f]){re.escape(secret)}(?![0-9a-f])", everything)]
    assert leaked == []

    origin = observed.log_lines("origin")  # every line of every service parses as JSON (or this raises)
    requests = [line for line in origin if line["message"] == "request"]
    for line in requests:
        assert set(line) >= REQUEST_FIELDS, line
        assert line["service"] == "origin" and line["level"] in {"debug", "info", "warning"}
        assert "?" not in (line["route"] or "")
    routes = {(line["method"], line["route"], line["status"], line.get("region")) for line in requests}
    assert ("POST", "/{region}/{lang}/checkout", 303, "us") in routes
    assert ("POST", "/{region}/{lang}/cart", 303, "us") in routes
    order = next(line for line in observed.log_lines("checkout") if line.get("route") == "/orders")
    pricing = [line for line in observed.log_lines("pricing") if line.get("route") == "/prices/order"]
    assert order["trace_id"] in {line["trace_id"] for line in pricing}  # checkout's reads carry the order's trace
    checkout = [line for line in observed.log_lines("checkout") if line["message"] == "request"]
    assert {line["route"] for line in checkout} >= {"/orders", "/carts/{cart_id}/contact"}
    assert all(set(line) >= REQUEST_FIELDS for line in checkout)
    for service in SERVICES:
        observed.log_lines(service)


def test_a_product_page_is_one_trace_with_the_upstream_reads_as_siblings(observed: Observed) -> None:
    stack = observed.stack
    listing = httpx.get(f"{stack.url('catalog')}/products", params={"region": "eu", "page_size": 5}).json()
    slug = listing["items"][3]["slug"]
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    page = httpx.get(f"{stack.url('origin')}/eu/de/p/{slug}", headers=traceparent(trace_id), timeout=20)
    assert page.status_code == 200
    assert "traceparent" not in page.headers and trace_id not in page.text  # nothing of a trace in a shared page

    def complete() -> list[dict[str, Any]]:
        """Each span is written as it ends, the page's after its reads: wait for every parent to be written."""
        spans = observed.trace(trace_id)
        ids = {s["context"]["span_id"] for s in spans} | {"0x00f067aa0ba902b7"}
        services = {s["service"] for s in spans}
        whole = all(s["parent_id"] in ids for s in spans)
        return spans if whole and {"origin", "catalog", "pricing", "cms"} <= services else []

    spans = eventually(complete)
    [root] = [s for s in spans if s["service"] == "origin" and s["kind"] == "SpanKind.SERVER"]
    assert root["name"] == "GET /{region}/{lang}/p/{slug}"
    assert root["parent_id"] == "0x00f067aa0ba902b7"  # the caller's span
    assert root["attributes"]["storefront.region"] == "eu"
    reads = [s for s in spans if s["kind"] == "SpanKind.CLIENT"]
    assert {s["name"] for s in reads} >= {"GET catalog", "GET pricing", "GET cms"}
    assert {s["parent_id"] for s in reads} == {root["context"]["span_id"]}  # siblings under the page
    by_id = {s["context"]["span_id"]: s for s in spans}
    for service in ("catalog", "pricing", "cms"):
        servers = [s for s in spans if s["service"] == service and s["kind"] == "SpanKind.SERVER"]
        assert servers, service
        for server in servers:
            parent = by_id[server["parent_id"]]  # each upstream's span hangs from the origin's read of it
            assert parent["kind"] == "SpanKind.CLIENT" and parent["name"] == f"GET {service}"
            assert server["name"].startswith("GET /") and slug not in server["name"]  # a route template, no path
    catalog = {s["name"] for s in spans if s["service"] == "catalog" and s["kind"] == "SpanKind.SERVER"}
    assert any("{" in name for name in catalog), catalog
    lines = observed.log_lines("origin")
    page_line = next(line for line in lines if line.get("trace_id") == trace_id and line["message"] == "request")
    assert page_line["span_id"] == root["context"]["span_id"][2:] and page_line["region"] == "eu"


def test_a_cms_publish_is_one_trace_down_to_each_purge(observed: Observed) -> None:
    cms = observed.stack.url("cms")
    entry = {"type": "page", "key": "returns", "fields": {"en-US": {"title": "Returns", "body": "<p>30 days.</p>"}}}
    created = httpx.post(f"{cms}/editor/entries", json=entry, headers=EDITOR)
    assert created.status_code == 201, created.text
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    published = httpx.post(
        f"{cms}/editor/entries/{created.json()['id']}/publish", json={}, headers=EDITOR | traceparent(trace_id)
    )
    assert published.status_code == 200, published.text
    events = httpx.get(f"{cms}/admin/outbox", headers=EDITOR).json()["events"]
    [event] = [e for e in events if e["type"] == "content.published" and e["payload"]["key"] == "returns"]
    assert event["traceparent"].split("-")[1] == trace_id

    def purged() -> list[dict[str, Any]]:
        spans = observed.trace(trace_id)
        ids = {s["context"]["span_id"] for s in spans}
        internal = [s for s in spans if s["name"] == "POST /internal/purge"]
        # A purge's span ends (and is written) after the origin's answer to it: wait for both ends.
        whole = internal and all(s["parent_id"] in ids for s in internal)
        return spans if whole and any(s["name"] == "POST /hooks/cms" for s in spans) else []

    spans = eventually(purged)
    by_id = {s["context"]["span_id"]: s for s in spans}
    [publish] = [s for s in spans if s["service"] == "cms" and s["kind"] == "SpanKind.SERVER"]
    [webhook] = [s for s in spans if s["name"] == "POST /hooks/cms"]  # the wake-up call joins the trace too
    assert webhook["service"] == "invalidator" and webhook["parent_id"] == publish["context"]["span_id"]
    [plan] = [s for s in spans if s["name"] == "plan content.published"]
    assert plan["service"] == "invalidator" and by_id[plan["parent_id"]] is publish
    purges = [s for s in spans if s["name"] == "purge origin"]
    assert purges and all(by_id[s["parent_id"]] is plan for s in purges)
    origin = [s for s in spans if s["name"] == "POST /internal/purge"]
    assert all(by_id[s["parent_id"]]["name"] == "purge origin" for s in origin)

    lines = eventually(
        lambda: [
            line
            for line in observed.log_lines("invalidator")
            if line["message"] == "purge" and line.get("trace_id") == trace_id
        ]
    )
    for line in lines:
        assert {"region", "edge", "keys", "outcome", "attempt"} <= set(line)
        assert (line["edge"], line["outcome"], line["attempt"]) == ("origin", "ok", 1) and line["keys"] >= 1
