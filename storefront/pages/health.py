"""Probes: `/livez` says the process answers; `/healthz` says whether the origin can serve pages now."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from storefront.shedding import RenderLimit
from storefront.upstream_client import UpstreamClient

_NO_STORE = {"Cache-Control": "no-store"}


@get("/livez", name="livez")
async def livez() -> Response[dict[str, str]]:
    """Liveness: the event loop runs. A supervisor restarts the process only when this fails."""
    return Response({"status": "ok", "service": "origin"}, headers=_NO_STORE)


@get("/healthz", name="healthz")
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Readiness: 503 while the origin is refusing renders for lack of capacity, so an edge's probe turns
    sick and the edge leans on its stale copies. Upstreams with an open circuit are reported but keep it
    at 200: the origin still serves what does not depend on them, and edges serve stale for the rest."""
    state = request.app.state
    limit: RenderLimit = state.render_limit
    clients: dict[str, UpstreamClient] = state.upstream_clients
    upstreams = {name: client.status() for name, client in clients.items()}
    overloaded = limit.shedding()
    body = {
        "status": "overloaded" if overloaded else "ok",
        "service": "origin",
        "renders": {"in_flight": limit.in_flight, "limit": limit.limit, "shed": limit.shed},
        "upstreams": upstreams,
    }
    return Response(body, status_code=503 if overloaded else 200, headers=_NO_STORE)
