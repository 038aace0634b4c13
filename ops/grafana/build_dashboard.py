"""Writes the Grafana dashboard `storefront.json` from the panel list below: `python ops/grafana/build_dashboard.py`.

The JSON is committed beside this script (Grafana imports it as is); `tests/ops/test_dashboard.py` fails if the
two differ, and if a panel reads a metric no service exports and no recording rule defines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent / "storefront.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_WIDTH = 24
_HEIGHT = 8

# The job names of docs/METRICS.md: backends and the invalidator share `storefront`, so a service is a job plus
# its instance (the scrape config decides what an instance is called).
_RED = 'job=~"storefront|storefront-origin"'
_ORIGIN = 'job="storefront-origin"'
_REGION = 'region=~"$region"'
_RED_5XX = f'{_RED},status_class="5xx"'
# The checkout SLO's events (docs/SLO.md): a declined card is the card's answer, not our failure.
_OUR_FAILURES = 'outcome=~"provider_error|payment_pending"'
_ATTEMPTS = 'outcome=~"placed|provider_error|payment_pending"'
_BROWSING = f'{_ORIGIN},kind=~"home|category|search|product"'

Target = tuple[str, str]  # (PromQL, legend)


def _rate(metric: str, selector: str = "") -> str:
    """`rate()` over Grafana's own interval, which is at least four scrapes whatever the zoom."""
    return f"rate({metric}{{{selector}}}[$__rate_interval])"


def _timeseries(title: str, unit: str, targets: list[Target], description: str = "") -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit, "min": 0}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]}},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


# (row title, panels); each row's panels share its width equally.
ROWS: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "RED per service",
        [
            _timeseries(
                "Request rate",
                "reqps",
                [
                    (
                        f"sum by (job, instance) ({_rate('http_server_request_duration_seconds_count', _RED)})",
                        "{{job}} {{instance}}",
                    )
                ],
            ),
            _timeseries(
                "Error rate (5xx share)",
                "percentunit",
                [
                    (
                        f"sum by (job, instance) ({_rate('http_server_request_duration_seconds_count', _RED_5XX)})"
                        f" / sum by (job, instance) ({_rate('http_server_request_duration_seconds_count', _RED)})",
                        "{{job}} {{instance}}",
                    )
                ],
            ),
            _timeseries(
                "Latency p95",
                "s",
                [
                    (
                        "histogram_quantile(0.95, sum by (job, instance, le) "
                        f"(rate(http_server_request_duration_seconds_bucket{{{_RED}}}[$__rate_interval])))",
                        "{{job}} {{instance}}",
                    )
                ],
            ),
        ],
    ),
    (
        "SLOs",
        [
            _timeseries(
                "SLI error ratio, 5 m (recording rules)",
                "percentunit",
                [("slo:sli_error:ratio_rate5m", "{{slo}}")],
                "Bad events over all events per SLO (docs/SLO.md); compare with 1 - slo:objective:ratio.",
            ),
            _timeseries(
                "Error budget burn rate, 1 h",
                "none",
                [("slo:sli_error:ratio_rate1h / on (slo) (1 - slo:objective:ratio)", "{{slo}}")],
                "1 spends the 30-day budget in exactly 30 days; the fast-burn page fires above 14.4.",
            ),
        ],
    ),
    (
        "Edge (Varnish) per region",
        [
            _timeseries(
                "Hit rate",
                "percentunit",
                [
                    (
                        f"sum by (region) (rate(varnish_cache_hits_total{{{_REGION}}}[$__rate_interval]))"
                        f" / (sum by (region) (rate(varnish_cache_hits_total{{{_REGION}}}[$__rate_interval]))"
                        f" + sum by (region) (rate(varnish_cache_misses_total{{{_REGION}}}[$__rate_interval])))",
                        "{{region}}",
                    )
                ],
                "Hits (grace hits included) over hits and misses; passes (private routes) are not cacheable.",
            ),
            _timeseries(
                "Stale served, passes, backend failures",
                "reqps",
                [
                    (
                        f"sum by (region) (rate(varnish_cache_grace_hits_total{{{_REGION}}}[$__rate_interval]))",
                        "{{region}} grace",
                    ),
                    (f"sum by (region) (rate(varnish_passes_total{{{_REGION}}}[$__rate_interval]))", "{{region}} pass"),
                    (
                        f"sum by (region) (rate(varnish_backend_failures_total{{{_REGION}}}[$__rate_interval]))",
                        "{{region}} backend failures",
                    ),
                    (
                        f"sum by (region) (rate(varnish_fetch_failures_total{{{_REGION}}}[$__rate_interval]))",
                        "{{region}} fetch failures",
                    ),
                ],
            ),
            _timeseries(
                "Objects purged",
                "ops",
                [
                    (
                        f"sum by (region) (rate(varnish_objects_purged_total{{{_REGION}}}[$__rate_interval]))",
                        "{{region}}",
                    )
                ],
            ),
        ],
    ),
    (
        "Purges",
        [
            _timeseries(
                "Purge lag p50 / p99 by region and edge kind",
                "s",
                [
                    (
                        "histogram_quantile(0.5, sum by (region, edge_kind, le) "
                        f"(rate(storefront_purge_lag_seconds_bucket{{{_REGION}}}[$__rate_interval])))",
                        "p50 {{region}} {{edge_kind}}",
                    ),
                    (
                        "histogram_quantile(0.99, sum by (region, edge_kind, le) "
                        f"(rate(storefront_purge_lag_seconds_bucket{{{_REGION}}}[$__rate_interval])))",
                        "p99 {{region}} {{edge_kind}}",
                    ),
                ],
                "From the commit of the change to the edge's acknowledgement; the SLO is p99 within 1 s.",
            ),
            _timeseries(
                "Purge delivery failures",
                "ops",
                [
                    (
                        f"sum by (region, edge_kind) ({_rate('storefront_purge_delivery_failures_total', _REGION)})",
                        "{{region}} {{edge_kind}}",
                    )
                ],
            ),
            _timeseries(
                "Outbox backlog",
                "none",
                [
                    (
                        "max by (source) (storefront_outbox_head_sequence)"
                        " - on (source) max by (source) (storefront_outbox_consumed_sequence)",
                        "{{source}}",
                    )
                ],
                "Events a service committed that the invalidator has not turned into purges yet.",
            ),
        ],
    ),
    (
        "Checkout",
        [
            _timeseries(
                "Orders by outcome",
                "ops",
                [("sum by (outcome) (rate(storefront_orders_total[$__rate_interval]))", "{{outcome}}")],
                "placed, declined (the card's answer), provider_error, payment_pending.",
            ),
            _timeseries(
                "Checkout failure ratio (our failures)",
                "percentunit",
                [
                    (
                        f"sum({_rate('storefront_orders_total', _OUR_FAILURES)})"
                        f" / sum({_rate('storefront_orders_total', _ATTEMPTS)})",
                        "failure ratio",
                    )
                ],
            ),
            _timeseries(
                "Funnel: page views to orders",
                "ops",
                [
                    (
                        f"sum by (kind) ({_rate('storefront_page_responses_total', _BROWSING)})",
                        "{{kind}} pages",
                    ),
                    ('sum(rate(storefront_orders_total{outcome="placed"}[$__rate_interval]))', "orders placed"),
                    ("sum(rate(storefront_reservations_expired_total[$__rate_interval]))", "reservations expired"),
                ],
                "Browsing beside orders; the checkout steps in between are the next panel.",
            ),
            _timeseries(
                "Checkout funnel: carts reaching each step",
                "ops",
                [
                    (
                        'sum by (step) (rate(storefront_checkout_funnel_carts_total{region=~"$region"}'
                        "[$__rate_interval]))",
                        "{{step}}",
                    ),
                ],
                "Each cart counts once per step (cart, checkout, contact, address, shipping, payment, placed); "
                "`storefront funnel` prints the same counts as step-to-step conversion.",
            ),
        ],
    ),
    (
        "Upstream health (origin)",
        [
            _timeseries(
                "Reads by upstream and outcome",
                "ops",
                [
                    (
                        "sum by (upstream, outcome) "
                        f"({_rate('storefront_upstream_read_duration_seconds_count', _ORIGIN)})",
                        "{{upstream}} {{outcome}}",
                    )
                ],
            ),
            _timeseries(
                "Read latency p95",
                "s",
                [
                    (
                        "histogram_quantile(0.95, sum by (upstream, le) "
                        f'(rate(storefront_upstream_read_duration_seconds_bucket{{{_ORIGIN},outcome="ok"}}[$__rate_interval])))',
                        "{{upstream}}",
                    )
                ],
            ),
            _timeseries(
                "Circuit open",
                "none",
                [(f"max by (upstream) (storefront_upstream_circuit_open{{{_ORIGIN}}})", "{{upstream}}")],
                "1 while the origin's circuit to an upstream is open or half-open.",
            ),
        ],
    ),
    (
        "Origin load",
        [
            _timeseries(
                "Load shedding",
                "reqps",
                [(f"sum(rate(storefront_shed_requests_total{{{_ORIGIN}}}[$__rate_interval]))", "quick 503s")],
            ),
            _timeseries(
                "Render slots",
                "none",
                [
                    (f"sum(storefront_render_slots{{{_ORIGIN}}})", "slots"),
                    (f"sum(storefront_render_slots_in_use{{{_ORIGIN}}})", "in use"),
                    (f"sum(storefront_render_queue{{{_ORIGIN}}})", "queued"),
                ],
            ),
            _timeseries(
                "Page cache events",
                "ops",
                [
                    (
                        f"sum by (event) (rate(storefront_page_cache_events_total{{{_ORIGIN}}}[$__rate_interval]))",
                        "{{event}}",
                    )
                ],
            ),
        ],
    ),
]


def dashboard() -> dict[str, Any]:
    """The dashboard: a row panel per section, then its panels side by side, ids in reading order."""
    panels: list[dict[str, Any]] = []
    y = 0
    for title, row_panels in ROWS:
        panels.append(
            {
                "type": "row",
                "title": title,
                "id": len(panels) + 1,
                "collapsed": False,
                "panels": [],
                "gridPos": {"h": 1, "w": _WIDTH, "x": 0, "y": y},
            }
        )
        y += 1
        width = _WIDTH // len(row_panels)
        for i, panel in enumerate(row_panels):
            gridpos = {"h": _HEIGHT, "w": width, "x": i * width, "y": y}
            panels.append({"id": len(panels) + 1, "gridPos": gridpos, **panel})
        y += _HEIGHT
    return {
        "uid": "storefront",
        "title": "Storefront",
        "description": "RED per service, edge hit rate, purge lag, checkout and upstream health (docs/METRICS.md).",
        "tags": ["storefront"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "timezone": "utc",
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "links": [],
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {},
                    "hide": 0,
                },
                {
                    "name": "region",
                    "label": "Region",
                    "type": "query",
                    "datasource": DATASOURCE,
                    # The exporter reports `varnish_up` for every region of the catalogue from its first scrape,
                    # while purge lag has a series only once a region has acknowledged a purge.
                    "query": {"query": "label_values(varnish_up, region)", "refId": "region"},
                    "definition": "label_values(varnish_up, region)",
                    "refresh": 2,
                    "includeAll": True,
                    "allValue": ".*",
                    "multi": True,
                    "current": {},
                    "hide": 0,
                    "sort": 1,
                },
            ]
        },
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render())
