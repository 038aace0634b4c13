"""The shopper's cookies (an opaque session and one cart per region) and CSRF tokens bound to the session.

Cookies only ever appear on private routes (cart, checkout, fragments): cacheable pages neither read
nor set them. Cookies are HttpOnly and SameSite=Lax; the token that state-changing forms must carry is
an HMAC of the session id, so another site can neither read nor forge it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

SESSION_COOKIE = "sf_session"
# Not secret and readable by scripts: tells cached pages that a cart exists, so only shoppers with a cart
# ask the origin for their cart count.
HINT_COOKIE = "sf_cart_hint"
SESSION_MAX_AGE = 30 * 86400
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def cart_cookie(region: str) -> str:
    return f"sf_cart_{region}"


@dataclass(slots=True)
class ShopperSession:
    session_id: str
    is_new: bool

    def csrf(self, secret: str) -> str:
        return hmac.new(secret.encode(), f"csrf:{self.session_id}".encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, secret: str, presented: str | None) -> bool:
        presented = str(presented or "")
        # compare_digest refuses non-ASCII text with a TypeError: such a token is simply not ours.
        return not self.is_new and presented.isascii() and hmac.compare_digest(self.csrf(secret), presented)


def session_of(request: Request[Any, Any, Any]) -> ShopperSession:
    raw = request.cookies.get(SESSION_COOKIE, "")
    if _TOKEN.match(raw):
        return ShopperSession(raw, is_new=False)
    return ShopperSession(secrets.token_urlsafe(24), is_new=True)


def cart_id_of(request: Request[Any, Any, Any], region: str) -> str | None:
    raw = request.cookies.get(cart_cookie(region), "")
    return raw if _TOKEN.match(raw) else None


def _secure(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def remember(
    request: Request[Any, Any, Any],
    response: Response[Any],
    session: ShopperSession,
    *,
    region: str | None = None,
    cart_id: str | None = None,
) -> Response[Any]:
    """Set the session cookie if it is new, and the region's cart cookie (plus the hint) if given."""
    secure = _secure(request)
    if session.is_new:
        response.set_cookie(
            SESSION_COOKIE, session.session_id, max_age=SESSION_MAX_AGE, httponly=True, samesite="lax", secure=secure
        )
    if region and cart_id:
        response.set_cookie(
            cart_cookie(region), cart_id, max_age=SESSION_MAX_AGE, httponly=True, samesite="lax", secure=secure
        )
        response.set_cookie(HINT_COOKIE, "1", max_age=SESSION_MAX_AGE, httponly=False, samesite="lax", secure=secure)
    return response
