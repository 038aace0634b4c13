"""What the private pages (cart and checkout) share: the personal response, the open cart, forms and CSRF."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from storefront.checkout_client import CheckoutClient, CheckoutProblem
from storefront.pages.common import PageError, Shop
from storefront.render import uncacheable_response
from storefront.session import ShopperSession, cart_id_of, remember

_GONE = (404, 409, 410)  # unknown, already ordered, expired: the shopper starts a new cart


def checkout_client(request: Request[Any, Any, Any]) -> CheckoutClient:
    return request.app.state.checkout


def private_page(
    request: Request[Any, Any, Any],
    template: str,
    context: dict[str, Any],
    session: ShopperSession,
    *,
    status_code: int = 200,
    region: str | None = None,
    cart_id: str | None = None,
) -> Response[str]:
    """A personal page: `private, no-store`, with the session (and cart) cookies it needs."""
    settings = request.app.state.settings
    context = {"csrf": session.csrf(settings.secret_key), "locale": context["shop"].locale, **context}
    response = uncacheable_response(
        request.app.state.templates, template, context, status_code=status_code, private=True
    )
    return remember(request, response, session, region=region, cart_id=cart_id)


async def current_cart(request: Request[Any, Any, Any], shop: Shop) -> dict[str, Any] | None:
    """The shopper's open cart in this region, or None (no cookie, or a cart that is gone)."""
    cart_id = cart_id_of(request, shop.region.code)
    if cart_id is None:
        return None
    try:
        cart = await checkout_client(request).cart(cart_id)
    except CheckoutProblem as exc:
        if exc.status in _GONE:
            return None
        raise PageError(503, "Temporarily unavailable", exc.detail or exc.title) from None
    return cart if cart["status"] == "open" else None


async def form_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    try:
        form = await request.form()
    except Exception:  # a malformed body is the shopper's problem, not a 500
        raise PageError(400, "Bad request", "We could not read that form.") from None
    return {k: str(v)[:300] for k, v in form.items()}


def require_csrf(request: Request[Any, Any, Any], session: ShopperSession, form: dict[str, str]) -> None:
    presented = form.get("csrf") or request.headers.get("x-csrf-token")
    if not session.csrf_valid(request.app.state.settings.secret_key, presented):
        raise PageError(
            403,
            "This form has expired",
            "For your security we could not accept that form. Go back, reload the page and try again.",
        )
