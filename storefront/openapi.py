"""The origin's OpenAPI 3.1 document: its machine endpoints only (probes, purge, metrics, uploads, fragments, quote)."""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.config.app import AppConfig
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig

from backends.common.openapi import finish_openapi, openapi_config, problem_response
from edge_config import RegionCatalogue

JSON = "application/json"
QUOTE = "/{region}/{lang}/checkout/quote"


class Liveness(msgspec.Struct):
    status: Literal["ok"]
    service: str


class RenderSlots(msgspec.Struct):
    in_flight: int
    limit: int
    shed: int  # requests refused with a quick 503 since start-up


class UpstreamHealth(msgspec.Struct):
    circuit: Literal["closed", "open", "half-open"]
    in_flight: int
    connections: int


class OriginHealth(msgspec.Struct):
    """`overloaded` (and a 503) while renders are being shed; an open circuit alone keeps it `ok`."""

    status: Literal["ok", "overloaded"]
    service: str
    renders: RenderSlots
    upstreams: dict[str, UpstreamHealth]


class Purged(msgspec.Struct):
    purged: int  # page cache entries removed (0 when the origin keeps no page cache)


class OriginMetrics(msgspec.Struct):
    counters: dict[str, int]
    page_cache: dict[str, int] | None  # hits, misses, renders, ..., entries and bytes; None when it is off
    cms_served_stale: int


class VariantUrls(msgspec.Struct):
    """URL templates of the stored image's variants; `{width}` is one of the ladder's widths."""

    avif: str
    webp: str
    jpg: str


class StoredImage(msgspec.Struct):
    hash: str  # sha256 of the original: its name in `/img/{hash}/...`
    format: str
    width: int
    height: int
    bytes: int
    colour: str
    placeholder: str  # a blurred WebP as a data URI
    variants: VariantUrls


class CartFragment(msgspec.Struct):
    count: int
    csrf: str  # the token the shopper's forms (and the quote) must carry


class QuoteRequest(msgspec.Struct):
    """The address and method being typed; anything else is ignored, and nothing is saved."""

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""
    method: str = ""


class QuoteSummary(msgspec.Struct):
    html: str  # the order summary to swap in
    total: str


class QuoteRefused(msgspec.Struct):
    """Checkout refused the address or method: problem details, with what to show beside which field."""

    type: str
    title: str
    status: int
    error: str
    fields: dict[str, str]
    detail: str | None = None


_BINARY = {"schema": {"type": "string", "format": "binary"}}
# What the origin documents beyond its handlers' signatures, by path and method: bodies read by hand, the
# typed answers of handlers that build plain dicts, and the machine statuses each can answer.
_RESPONSES: dict[tuple[str, str], dict[int, tuple[type[msgspec.Struct], str, str]]] = {
    ("/livez", "get"): {200: (Liveness, JSON, "The process answers.")},
    ("/healthz", "get"): {
        200: (OriginHealth, JSON, "Ready to render."),
        503: (OriginHealth, JSON, "Shedding load: an edge should lean on its stale copies."),
    },
    ("/internal/purge", "post"): {200: (Purged, JSON, "Purged from the origin page cache.")},
    ("/internal/metrics", "get"): {200: (OriginMetrics, JSON, "Counters since start-up.")},
    ("/admin/images", "post"): {
        200: (StoredImage, JSON, "Already stored."),
        201: (StoredImage, JSON, "Stored; the common widths are built after the answer."),
    },
    ("/fragments/cart", "get"): {200: (CartFragment, JSON, "The shopper's cart count and form token.")},
    (QUOTE, "post"): {
        200: (QuoteSummary, JSON, "The order summary for that address and method."),
        # Problem details with two extension members the checkout page's script reads.
        422: (QuoteRefused, "application/problem+json", "Checkout refused the address or method."),
    },
}
# Problem-details statuses beyond the generic ones (401, 404, 422, 400, 413) that `finish_openapi` adds.
_PROBLEMS: dict[tuple[str, str], tuple[int, ...]] = {
    ("/admin/images", "post"): (413, 415, 422, 503),  # 503: the image workers' queue is full
    # The render slot: a quick 503 when the origin is shedding load.
    ("/fragments/cart", "get"): (503,),
    # 403 without the session's CSRF token, 409 without an open cart, 503 when checkout cannot answer.
    (QUOTE, "post"): (400, 403, 404, 409, 413, 503),
}
_REQUEST_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("/admin/images", "post"): {
        "description": "The original's bytes (JPEG, PNG, WebP, AVIF; at most 40 MB and 40 megapixels).",
        "required": True,
        "content": {media: _BINARY for media in ("application/octet-stream", "image/jpeg", "image/png")},
    },
    (QUOTE, "post"): {
        "required": True,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/QuoteRequest"}}},
    },
}
_CSRF_HEADER = {
    "name": "X-CSRF-Token",
    "in": "header",
    "required": False,
    "description": "The `csrf` of `GET /fragments/cart`, sent with that response's session cookie.",
    "schema": {"type": "string", "maxLength": 128},
}
DOCUMENTED_PATHS = frozenset(path for path, _ in _RESPONSES)


def origin_openapi_config() -> OpenAPIConfig:
    return openapi_config("origin", schemes=("admin",))


def pages_out_of_schema(config: AppConfig) -> AppConfig:
    """An `on_app_init` hook: only machine endpoints are documented; HTML page routes are not an API, so
    Litestar never generates them (`finish_origin_openapi` still drops any path not listed here)."""
    for handler in config.route_handlers:
        if isinstance(handler, HTTPRouteHandler) and not {_plain(path) for path in handler.paths} & DOCUMENTED_PATHS:
            handler.include_in_schema = False
    return config


def _plain(path: str) -> str:
    """`/{region:str}/x` as the document spells it: `/{region}/x`."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def finish_origin_openapi(app: Litestar, regions: RegionCatalogue) -> dict[str, Any]:
    """The served document: the machine endpoints' typed answers and problem details; no HTML page routes."""
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    structs = {struct for responses in _RESPONSES.values() for struct, _, _ in responses.values()} | {QuoteRequest}
    _, components = msgspec.json.schema_components(
        sorted(structs, key=lambda s: s.__name__), ref_template="#/components/schemas/{name}"
    )
    document.setdefault("components", {}).setdefault("schemas", {}).update(components)
    for (path, method), responses in _RESPONSES.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            raise LookupError(f"no route for {method.upper()} {path}")
        operation["responses"] = {
            str(status): {
                "description": text,
                "content": {media: {"schema": {"$ref": f"#/components/schemas/{struct.__name__}"}}},
            }
            for status, (struct, media, text) in responses.items()
        }
        for status in _PROBLEMS.get((path, method), ()):
            operation["responses"].setdefault(str(status), problem_response(status))
        if (path, method) in _REQUEST_BODIES:
            operation["requestBody"] = _REQUEST_BODIES[(path, method)]
    quote = document["paths"][QUOTE]["post"]
    quote["parameters"] = [*quote.get("parameters", []), _CSRF_HEADER]
    for parameter in quote["parameters"]:
        if parameter.get("name") == "lang":
            languages = sorted({locale.split("-")[0] for region in regions for locale in region.locales})
            parameter["schema"] = {"type": "string", "enum": languages}
    return finish_openapi(app, regions, only_paths=DOCUMENTED_PATHS)
