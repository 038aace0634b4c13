"""The origin's edge behaviour for page routes: the page cache, compression, ETag and 304s.

Applied as ASGI middleware to routes whose handler opts in with `opt={"page": True, "query": (...)}`.
Only the listed query parameters reach the handler and the cache key, so junk parameters neither
change a page nor create cache entries.
"""

from __future__ import annotations

import gzip
import hashlib
from typing import Any
from urllib.parse import quote

import brotli
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from cache.canonical import canonical_path, canonical_query
from cache.page_cache import CachedPage, Outcome, PageCache
from cache.policy import DEGRADED_HEADER, REFRESH_HEADER, REFRESH_PURGED
from storefront.pages.common import MACHINE_PATHS
from storefront.shedding import Overloaded, Priority, RenderLimit

_COMPRESSIBLE = (b"text/", b"application/json", b"application/problem+json", b"image/svg+xml")
_MIN_COMPRESS = 512
_HOP_HEADERS = {b"content-length", b"content-encoding", b"etag", b"vary"}
_CACHEABLE_STATUS = {200, 301, 302, 308}
_DEGRADED = DEGRADED_HEADER.lower().encode()
_REFRESH = REFRESH_HEADER.lower().encode()
_PRIORITY_OF_REFRESH = {REFRESH_PURGED.encode(): Priority.PURGED}
_EDGE_ONLY = {b"surrogate-key", b"xkey", b"cache-tag", b"surrogate-control", _DEGRADED}
# Image builds wait on the image workers, which bound and shed their own queue: no render slot is held.
_OWN_QUEUE = ("/img/", "/admin/images")
_NOT_TRAFFIC = ("/healthz", "/livez", "/internal/")  # probes and metrics polls are not load


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _ttl_from(headers: list[tuple[bytes, bytes]]) -> tuple[int, int, int]:
    """(s-maxage, stale-while-revalidate, stale-if-error) of a public response; zeros when not storable."""
    control = (_header(headers, b"cache-control") or b"").decode().lower()
    if "private" in control or "no-store" in control or _header(headers, b"set-cookie") is not None:
        return 0, 0, 0
    directives = {}
    for part in control.split(","):
        name, _, value = part.strip().partition("=")
        directives[name] = value
    try:
        return (
            int(directives.get("s-maxage", 0)),
            int(directives.get("stale-while-revalidate", 0)),
            int(directives.get("stale-if-error", 0)),
        )
    except ValueError:
        return 0, 0, 0


def build_page(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> CachedPage:
    ttl, swr, sie = _ttl_from(headers) if status in _CACHEABLE_STATUS else (0, 0, 0)
    keys = frozenset((_header(headers, b"xkey") or b"").decode().split())
    page = CachedPage(
        status=status,
        headers=[(k, v) for k, v in headers if k.lower() not in _HOP_HEADERS],
        body=body,
        etag=hashlib.blake2b(body, digest_size=16).hexdigest(),
        keys=keys,
        ttl=ttl,
        stale_while_revalidate=swr,
        stale_if_error=sie,
        degraded=_header(headers, _DEGRADED) is not None,
    )
    content_type = _header(headers, b"content-type") or b""
    page.compressible = len(body) >= _MIN_COMPRESS and content_type.startswith(_COMPRESSIBLE)
    return page


def _compressed(page: CachedPage, encoding: str) -> bytes:
    """The body in `encoding`, compressed once per page and reused for every later request."""
    body = page.encoded.get(encoding)
    if body is None:
        body = brotli.compress(page.body, quality=5) if encoding == "br" else gzip.compress(page.body, 6)
        page.encoded[encoding] = body
    return body


def _accepted(scope: Scope) -> set[str]:
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            return {p.split(";")[0].strip() for p in value.decode("latin-1").lower().split(",")}
    return set()


def _has(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope["headers"])


def _if_none_match(scope: Scope) -> list[str]:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return [t.strip().removeprefix("W/").strip('"') for t in value.decode("latin-1").split(",")]
    return []


async def send_page(scope: Scope, send: Send, page: CachedPage, outcome: Outcome, age: float = 0) -> None:
    accepted = _accepted(scope) if page.compressible else set()
    encoding = next((e for e in ("br", "gzip") if e in accepted), None)
    etag = f'"{page.etag}-{encoding}"' if encoding else f'"{page.etag}"'
    headers = list(page.headers)
    if outcome != "PASS" and not _has(scope, b"surrogate-capability"):
        # The page cache is the edge here: like Varnish, it keeps the surrogate headers to itself (4 KB of
        # keys on a listing). A real surrogate in front says so with Surrogate-Capability and gets them.
        headers = [(k, v) for k, v in headers if k not in _EDGE_ONLY]
    headers.append((b"etag", etag.encode()))
    if page.compressible:
        headers.append((b"vary", b"Accept-Encoding"))
    if outcome != "PASS":
        headers += [(b"x-cache", outcome.encode()), (b"age", str(int(age)).encode())]
    matched = any(t == "*" or t.split("-")[0] == page.etag for t in _if_none_match(scope))
    if matched and page.status == 200:
        keep = {b"cache-control", b"surrogate-control", b"etag", b"vary", b"surrogate-key", b"xkey", b"cache-tag"}
        await send({"type": "http.response.start", "status": 304, "headers": [h for h in headers if h[0] in keep]})
        await send({"type": "http.response.body", "body": b""})
        return
    body = _compressed(page, encoding) if encoding else page.body
    if encoding:
        headers.append((b"content-encoding", encoding.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": page.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def _compressing(scope: Scope, send: Send) -> Send:
    """`send`, compressing a text or JSON response that is not a shared page (cart, checkout, fragments, form
    answers) for a client that takes brotli or gzip; anything else, and anything streamed, passes untouched."""
    accepted = _accepted(scope)
    encoding = next((e for e in ("br", "gzip") if e in accepted), None)
    if encoding is None or scope["method"] == "HEAD":
        return send
    start: Message | None = None
    chunks: list[bytes] = []

    async def compressing_send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
            content_type = _header(headers, b"content-type") or b""
            if content_type.startswith(_COMPRESSIBLE) and _header(headers, b"content-encoding") is None:
                start = {**message, "headers": headers}  # held until the body is complete
                return
        elif message["type"] == "http.response.body" and start is not None:
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await _send_compressed(send, start, b"".join(chunks), encoding)
            return
        await send(message)

    return compressing_send


async def _send_compressed(send: Send, start: Message, body: bytes, encoding: str) -> None:
    headers = [h for h in start["headers"] if h[0] != b"content-length"]
    if len(body) >= _MIN_COMPRESS:
        body = brotli.compress(body, quality=5) if encoding == "br" else gzip.compress(body, 6)
        headers += [(b"content-encoding", encoding.encode()), (b"vary", b"Accept-Encoding")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _render_scope(scope: Scope, query: str) -> Scope:
    """A scope for rendering a shared page: canonical query, and no cookies or other request headers,
    so no response can depend on them. Litestar's per-request state starts afresh (renders may run in
    the background after the request that triggered them), keeping only the routed exception handlers."""
    fresh: Scope = {**scope, "query_string": query.encode(), "method": "GET", "headers": [], "state": {}}  # type: ignore[typeddict-item]
    ScopeState.from_scope(fresh).exception_handlers = ScopeState.from_scope(scope).exception_handlers
    return fresh


async def _render(app: ASGIApp, scope: Scope) -> CachedPage:
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return build_page(status, headers, b"".join(chunks))


class PageEdgeMiddleware:
    """Serves opted-in page routes from the origin page cache (when enabled) with ETag and compression,
    redirects other spellings of a page's path to its canonical one, and sheds load past the render limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_NOT_TRAFFIC):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        state.counters["requests"] += 1  # what shoppers and edges asked for, for load tests
        limit: RenderLimit = state.render_limit
        handler = scope.get("route_handler")
        opt: dict[str, Any] = getattr(handler, "opt", {}) or {}
        if scope["path"].startswith(_OWN_QUEUE):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD") or not opt.get("page"):
            try:
                async with limit.slot():
                    await self.app(scope, receive, _compressing(scope, send))
            except Overloaded:
                await _send_overloaded(scope, send, state)
            return
        query = canonical_query(scope.get("query_string", b""), opt.get("query", ()))
        canonical = canonical_path(scope["path"])
        if quote(canonical) != _raw_path(scope):
            await _send_redirect(send, canonical, query, state)
            return
        state.counters["page_requests"] += 1
        cache: PageCache | None = state.get("page_cache")

        # Only an edge sends the refresh marker (it strips shoppers' own): with the page cache playing the
        # edge, nobody may use it to jump the queue.
        refresh = _header(scope.get("headers", []), _REFRESH) if cache is None else None
        priority = _PRIORITY_OF_REFRESH.get(refresh, Priority.REFRESH) if refresh is not None else Priority.NEW
        max_wait = state.settings.refresh_wait if refresh is not None else None

        async def render() -> CachedPage:
            async with limit.slot(max_wait, priority):
                state.counters["renders"] += 1
                page = await _render(self.app, _render_scope(scope, query))
            _observe_render(state, handler, page)
            return page

        try:
            if cache is None:
                page, outcome, age = await render(), "PASS", 0.0
            else:
                page, outcome = await cache.get_or_render(f"{canonical}?{query}", render)
                age = cache.age(page)
        except Overloaded:
            await _send_overloaded(scope, send, state)
            return
        if (metrics := state.get("origin_metrics")) is not None:
            metrics.page(getattr(handler, "name", None), outcome)
        await send_page(scope, send, page, outcome, age=age)


def _observe_render(state: Any, handler: Any, page: CachedPage) -> None:
    """Surrogate keys and header bytes per render (a cache hit reuses a render's headers)."""
    metrics = state.get("origin_metrics")
    if metrics is not None:
        header = _header(page.headers, b"surrogate-key") or b""
        metrics.rendered(getattr(handler, "name", None), len(page.keys), len(header))


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    return raw.decode("latin-1").split("?")[0] if raw else quote(scope["path"])


async def _send_redirect(send: Send, path: str, query: str, state: Any) -> None:
    """A permanent, cacheable redirect to the one spelling of this page's path."""
    location = quote(path) + (f"?{query}" if query else "")
    headers = [(k.lower().encode(), v.encode()) for k, v in state.policy.headers().items()]
    headers += [(b"location", location.encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 301, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _send_overloaded(scope: Scope, send: Send, state: Any) -> None:
    """The quick refusal: no template, no upstream, nothing stored; `Retry-After` tells clients when."""
    state.counters["shed"] += 1
    path = scope["path"]
    if path.startswith(MACHINE_PATHS) or path.endswith("/checkout/quote"):  # what storefront/openapi.py documents
        body = (
            b'{"type":"about:blank","title":"Busy","status":503,'
            b'"detail":"The shop is very busy. Please retry in a second."}'
        )
        content_type = b"application/problem+json"
    else:
        body = _OVERLOADED_PAGE
        content_type = b"text/html; charset=utf-8"
    headers = [
        (b"content-type", content_type),
        (b"cache-control", b"no-store"),
        (b"retry-after", b"1"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


_OVERLOADED_PAGE = (
    b"<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
    b"<title>One moment</title><h1>The shop is very busy</h1>"
    b"<p>Please try again in a moment: <a href=''>reload this page</a>.</p></html>"
)
