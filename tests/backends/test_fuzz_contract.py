"""Every service's served OpenAPI document (the backends, the invalidator, the origin's machine endpoints),
fuzzed with schemathesis in-process: no 5xx, no response off its schema, every 4xx problem details; then the
checkout data is checked intact."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from backends.catalog.app import create_app as create_catalog
from backends.checkout.app import create_app as create_checkout
from backends.cms.app import create_app as create_cms
from backends.pricing.app import create_app as create_pricing
from cache.invalidation.service import create_app as create_invalidator
from stack.settings import Settings
from storefront.app import create_app as create_origin
from storefront.session import SESSION_COOKIE, ShopperSession, cart_cookie

# Bounds: a fixed number of examples per operation, mode and token, from a seed derived from the test (the
# same requests every run), no shrinking and no per-example deadline; the whole module runs in about a
# minute on two cores. Raise EXAMPLES locally to fuzz harder.
EXAMPLES = 15
TOKENS = {"admin": "fuzz-admin", "editor": "fuzz-editor", "preview": "fuzz-preview"}
SCHEMA_URL = "/schema/openapi.json"
# Fuzzing past this wall time fails the test rather than stretch CI.
BUDGET_SECONDS = 120.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The origin runs with every upstream at a dead port: a 503 that its operation documents (checkout cannot
# answer, the render slots or image workers are full) is a correct answer there, never a 500.
ORIGIN_CHECKS = CHECKS[1:]
DEAD = "http://127.0.0.1:9"


def undocumented_server_error(response: Any, operation: Any) -> str | None:
    """For the origin: what is wrong with a 5xx that its operation does not document (any 500), or None."""
    status = response.status_code
    if status < 500 or (status != 500 and str(status) in operation.definition.raw.get("responses", {})):
        return None
    return f"undocumented {status}: {response.text[:300]}"


def problem_details(response: Any) -> str | None:
    """What is wrong with a 4xx that is not RFC 9457 problem details, or None."""
    if not 400 <= response.status_code < 500:
        return None
    media = (response.headers.get("content-type") or [""])[0]  # schemathesis keeps every value of a header
    if not media.startswith("application/problem+json"):
        return f"{response.status_code} with content-type {media!r}"
    body = response.json()
    if not (isinstance(body, dict) and body.get("status") == response.status_code and body.get("title")):
        return f"{response.status_code} problem without matching status and title: {body!r}"
    return None


@dataclasses.dataclass
class Stack:
    settings: Settings
    apps: dict[str, Litestar]
    started: float
    # Path parameters worth more than random ones: a live cart with a line, so cart routes get past 404.
    known: dict[str, str] = dataclasses.field(default_factory=dict)
    # Headers worth more than random ones, by service: a shopper's session, cart cookie and CSRF token for the
    # origin, so its quote gets past 403 to the (dead) checkout.
    shopper: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """All five services on seeded SQLite and the origin (its upstreams dead), each started in schemathesis's
    ASGI event loop."""
    from backends.seed import seed_all

    data = tmp_path_factory.mktemp("fuzz")
    env = {"STOREFRONT_DATA_DIR": str(data / "var"), "STOREFRONT_WEBHOOK_SECRET": "fuzz-secret"}
    env |= {f"STOREFRONT_{role.upper()}_TOKEN": token for role, token in TOKENS.items()}
    # Nothing the fuzzed services call may reach a real stack on this machine.
    env |= {f"STOREFRONT_{name}_URL": "http://127.0.0.1:9" for name in ("ORIGIN", "CMS", "INVALIDATOR")}
    seeded = Settings.from_env(env)
    asyncio.run(seed_all(seeded, products=40, seed=11, images=0))
    catalog = create_catalog(dataclasses.replace(seeded.catalog, checkout_url=""))
    pricing = create_pricing(seeded.pricing)
    mounts = {
        "http://catalog.test": httpx.ASGITransport(app=catalog),
        "http://pricing.test": httpx.ASGITransport(app=pricing),
    }
    checkout = create_checkout(
        dataclasses.replace(seeded.checkout, catalog_url="http://catalog.test", pricing_url="http://pricing.test"),
        mounts=mounts,
    )
    cms = create_cms(dataclasses.replace(seeded.cms, webhook_url=""))
    invalidator = create_invalidator(dataclasses.replace(seeded.invalidator, outboxes={}))
    # Every upstream refuses at once: the origin's machine endpoints must still answer by their document.
    unreachable = {f"STOREFRONT_{name}_URL": DEAD for name in ("CATALOG", "PRICING", "CMS", "CHECKOUT")}
    origin_settings = Settings.from_env(env | unreachable | {"STOREFRONT_DATA_DIR": str(data / "origin")}).origin
    origin = create_origin(dataclasses.replace(origin_settings, image_workers=1))
    apps = {
        "catalog": catalog,
        "pricing": pricing,
        "cms": cms,
        "checkout": checkout,
        "invalidator": invalidator,
        "origin": origin,
    }
    for app in apps.values():
        with schemathesis_asgi.get_client(app):  # starts the app's lifespan in the shared loop, kept running
            pass
    with schemathesis_asgi.get_client(checkout) as client:
        cart = client.post("/carts", json={"region": "us"}).json()["id"]
        client.put("/admin/stock/us/SKU-00001-1", json={"on_hand": 20}, headers={"Authorization": "Bearer fuzz-admin"})
        assert client.post(f"/carts/{cart}/lines", json={"sku": "SKU-00001-1", "quantity": 2}).status_code == 200
    shopper = ShopperSession("fuzz-session-0123456789", is_new=False)
    cookies = f"{SESSION_COOKIE}={shopper.session_id}; {cart_cookie('us')}=fuzz-cart-0123456789abcdef"
    origin_shopper = {"Cookie": cookies, "X-CSRF-Token": shopper.csrf(origin_settings.secret_key)}
    try:
        yield Stack(
            seeded,
            apps,
            time.monotonic(),
            known={"cart_id": cart, "sku": "SKU-00001-1", "region": "us"},
            shopper={"origin": origin_shopper},
        )
    finally:
        schemathesis_asgi.shutdown_lifespans()


def _token_for(operation: Any) -> str | None:
    schemes = [name for requirement in operation.definition.raw.get("security", []) for name in requirement]
    return TOKENS.get(schemes[0]) if schemes else TOKENS["admin"]


def _fuzz(stack: Stack, service: str, *, with_tokens: bool) -> list[str]:
    schema = schemathesis.openapi.from_asgi(SCHEMA_URL, stack.apps[service])
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        token = _token_for(operation) if with_tokens else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        known = {name: value for name, value in stack.known.items() if f"{{{name}}}" in operation.path}
        shopper = stack.shopper.get(service, {})
        passes = [(GenerationMode.POSITIVE, {}, {}), (GenerationMode.NEGATIVE, {}, {})]
        if known or shopper:
            passes.append((GenerationMode.POSITIVE, known, shopper))
        for mode, path_parameters, extra in passes:
            failure = _fuzz_operation(
                operation, mode, {**headers, **extra}, path_parameters, origin=service == "origin"
            )
            if failure:
                label = f"{mode.value}{', known ids' if path_parameters or extra else ''}"
                failures.append(f"{operation.method.upper()} {operation.path} ({label}): {failure}")
        assert time.monotonic() - stack.started < BUDGET_SECONDS, "the fuzz ran past its time budget"
    return failures


# Responses by status over the whole run, to see that the fuzz reaches past validation.
statuses: dict[int, int] = {}


def _fuzz_operation(
    operation: Any, mode: GenerationMode, headers: dict[str, str], path_parameters: dict[str, str], *, origin: bool
) -> str | None:
    found: list[str] = []
    checks = ORIGIN_CHECKS if origin else CHECKS

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None))
    def run(case: Any) -> None:
        if found:
            return  # one failure per operation and mode is enough to report
        case.headers = {**(case.headers or {}), **headers} if headers else case.headers
        if isinstance(case.query, dict) and isinstance(case.query.get("wait"), int | float):
            case.query["wait"] = 0  # a valid long poll just waits (tests/backends/common/test_outbox.py)
        response = case.call()
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=checks)
        except Exception as exc:  # schemathesis raises a FailureGroup (an exception group) naming each check
            found.append(f"{exc}: {getattr(exc, 'exceptions', '')}\n  reproduce: {case.as_curl_command()}")
            return
        wrong = (undocumented_server_error(response, operation) if origin else None) or problem_details(response)
        if wrong:
            found.append(f"{wrong}\n  reproduce: {case.as_curl_command()}")

    # An operation without parameters or body has nothing to negate: not a failure.
    with contextlib.suppress(Unsatisfiable):
        run()
    return found[0] if found else None


@pytest.mark.parametrize("with_tokens", [True, False], ids=["tokens", "anonymous"])
@pytest.mark.parametrize("service", ["catalog", "pricing", "cms", "checkout", "invalidator", "origin"])
def test_fuzz_contract(stack: Stack, service: str, with_tokens: bool) -> None:
    failures = _fuzz(stack, service, with_tokens=with_tokens)
    print(f"{service}, tokens {with_tokens}: responses by status so far {sorted(statuses.items())}")
    assert not failures, "\n\n".join(failures)


def test_origin_documents_only_its_machine_endpoints(stack: Stack) -> None:
    with schemathesis_asgi.get_client(stack.apps["origin"]) as client:
        document = client.get(SCHEMA_URL).json()
    paths = document["paths"]
    assert set(paths) == {
        "/healthz",
        "/livez",
        "/internal/purge",
        "/internal/metrics",
        "/admin/images",
        "/fragments/cart",
        "/{region}/{lang}/checkout/quote",
    }
    assert set(document["components"]["securitySchemes"]) == {"admin"}
    guarded = {path for path, item in paths.items() for op in item.values() if op.get("security") == [{"admin": []}]}
    assert guarded == {"/internal/purge", "/internal/metrics", "/admin/images"}
    assert set(paths["/healthz"]["get"]["responses"]) == {"200", "503"}
    quote = paths["/{region}/{lang}/checkout/quote"]["post"]["responses"]
    assert quote["503"]["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_outbox_events_match_their_schema(stack: Stack) -> None:
    """Every event in each outbox, the fuzzer's and one known write's, has the payload its `type` documents."""
    writes = {
        "catalog": ("PATCH", "/admin/products/1", {"title": "Typed events"}),
        "pricing": ("PUT", "/admin/prices/us/SKU-00001-1", {"list": "12.34"}),
        "cms": ("POST", "/editor/entries", {"type": "page", "key": "typed", "fields": {"en-US": {"title": "T"}}}),
        "checkout": ("PUT", "/admin/stock/us/SKU-00001-1", {"on_hand": 25}),
    }
    for service, (method, path, body) in writes.items():
        token = TOKENS["editor" if service == "cms" else "admin"]
        schema = schemathesis.openapi.from_asgi(SCHEMA_URL, stack.apps[service])
        with schemathesis_asgi.get_client(stack.apps[service]) as client:
            headers = {"Authorization": f"Bearer {token}"}
            written = client.request(method, path, json=body, headers=headers)
            assert written.status_code in (200, 201), written.text
            if service == "cms":  # a draft writes no event; publishing does
                published = client.post(f"/editor/entries/{written.json()['id']}/publish", json={}, headers=headers)
                assert published.status_code == 200, published.text
            page = client.get("/admin/outbox", params={"limit": 1000}, headers=headers)
        assert page.status_code == 200 and page.json()["events"], f"{service}: {page.text[:300]}"
        schema["/admin/outbox"]["GET"].validate_response(page)


def test_checkout_data_intact_after_fuzzing(stack: Stack) -> None:
    """Runs last in this module: whatever the fuzzer sent, stock and orders stayed consistent."""

    async def check() -> dict[str, Any]:
        engine = create_async_engine(stack.settings.checkout.database_url)
        try:
            async with engine.connect() as conn:

                async def count(sql: str) -> int:
                    return int((await conn.execute(text(sql))).scalar_one())

                return {
                    "negative stock": await count("SELECT count(*) FROM checkout_stock WHERE on_hand < 0"),
                    "over-reserved": await count(
                        "SELECT count(*) FROM checkout_stock WHERE reserved < 0 OR reserved > on_hand"
                    ),
                    "orders without lines": sum(
                        1
                        for (summary,) in await conn.execute(text("SELECT summary FROM checkout_orders"))
                        if not (json.loads(summary) if isinstance(summary, str) else summary).get("lines")
                    ),
                    "carts ordered twice": await count(
                        "SELECT count(*) FROM (SELECT cart_id FROM checkout_orders WHERE status = 'placed' "
                        "GROUP BY cart_id HAVING count(*) > 1) twice"
                    ),
                }
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == dict.fromkeys(
        ("negative stock", "over-reserved", "orders without lines", "carts ordered twice"), 0
    )
