"""Bearer-token guards for admin, editor and preview routes."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_matches(presented: str, expected: str) -> bool:
    return bool(presented) and bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


def require_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: the route's `token_setting` (default `admin_token`) must be presented as a bearer token."""
    setting_name = handler.opt.get("token_setting", "admin_token")
    expected = getattr(connection.app.state.settings, setting_name)
    if not token_matches(bearer_token(connection), expected):
        raise NotAuthorizedException(
            detail="A valid bearer token is required.",
            headers={"WWW-Authenticate": 'Bearer realm="storefront"'},
        )
