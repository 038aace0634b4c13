"""The cart page, its forms, and the private fragment that gives cached pages the cart count."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from backends.common.params import bounded_int
from backends.common.validation import PROMO_CODE, SKU
from cache.policy import PRIVATE_HEADERS
from storefront.checkout_client import CheckoutProblem
from storefront.pages.common import PageError, Shop, shop_for
from storefront.pages.private import checkout_client, current_cart, form_of, private_page, require_csrf
from storefront.session import ShopperSession, cart_id_of, remember, session_of

MAX_FORM_QUANTITY = 99
PROMO_CODE_RE = re.compile(PROMO_CODE)


def _quantity(raw: str | None, *, minimum: int) -> int | None:
    if raw is None or raw == "":
        return 1 if minimum > 0 else None
    return bounded_int(raw, minimum, MAX_FORM_QUANTITY)


@get("/fragments/cart", name="cart-fragment")
async def cart_fragment(request: Request[Any, Any, Any], region: str = "") -> Response[dict[str, Any]]:
    """`{count, csrf}` for the shopper: cached pages fetch it to show the cart and to sign their forms."""
    session = session_of(request)
    found = request.app.state.settings.regions.get(region[:16])
    count = 0
    if found is not None and (cart_id := cart_id_of(request, found.code)):
        try:
            count = (await checkout_client(request).cart(cart_id))["item_count"]
        except CheckoutProblem:
            count = 0
    body = {"count": count, "csrf": session.csrf(request.app.state.settings.secret_key)}
    response = Response(body, headers=dict(PRIVATE_HEADERS))
    return remember(request, response, session)


@get("/{region:str}/{lang:str}/cart", name="cart")
async def cart_page(request: Request[Any, Any, Any], region: str, lang: str) -> Response[str]:
    shop = shop_for(request, region, lang)
    session = session_of(request)
    cart = await current_cart(request, shop)
    return private_page(request, "cart.html", {"shop": shop, "cart": cart}, session)


@post("/{region:str}/{lang:str}/cart", name="cart-add", status_code=303)
async def add_to_cart(request: Request[Any, Any, Any], region: str, lang: str) -> Response[Any]:
    """Add a variant. A form from a cached page has no token when scripts are off: ask to confirm instead."""
    shop = shop_for(request, region, lang)
    session = session_of(request)
    form = await form_of(request)
    sku, quantity = form.get("sku", ""), _quantity(form.get("quantity"), minimum=1)
    if not SKU.match(sku) or quantity is None:
        return await _cart_with_error(request, shop, session, "Choose an option and a quantity from 1 to 99.", 422)
    if not form.get("csrf") and not request.headers.get("x-csrf-token"):
        context = {"shop": shop, "sku": sku, "quantity": quantity}
        return private_page(request, "cart_confirm.html", context, session)
    require_csrf(request, session, form)
    client = checkout_client(request)
    cart = await current_cart(request, shop)
    try:
        if cart is None:
            cart = await client.new_cart(shop.region.code)
        _, cart = await client.call("POST", f"/carts/{cart['id']}/lines", {"sku": sku, "quantity": quantity})
    except CheckoutProblem as exc:
        return await _cart_with_error(request, shop, session, _message(exc), exc.status)
    if "application/json" in request.headers.get("accept", ""):
        response: Response[Any] = Response(
            {"count": cart["item_count"]}, status_code=200, headers=dict(PRIVATE_HEADERS)
        )
    else:
        response = Redirect(f"{shop.base}/cart", status_code=303, headers=dict(PRIVATE_HEADERS))
    return remember(request, response, session, region=shop.region.code, cart_id=cart["id"])


@post("/{region:str}/{lang:str}/cart/update", name="cart-update", status_code=303)
async def update_cart(request: Request[Any, Any, Any], region: str, lang: str) -> Response[Any]:
    """Change a line's quantity (0 removes it), or apply or remove a promotion code."""
    shop = shop_for(request, region, lang)
    session = session_of(request)
    form = await form_of(request)
    require_csrf(request, session, form)
    cart = await current_cart(request, shop)
    if cart is None:
        return await _cart_with_error(request, shop, session, "Your cart has expired; it is empty now.", 409)
    client, base = checkout_client(request), f"/carts/{cart['id']}"
    try:
        if form.get("action") == "remove-code":
            await client.call("DELETE", f"{base}/promotion")
        elif "code" in form:
            code = form["code"].strip()
            if not PROMO_CODE_RE.match(code):
                return await _cart_with_error(request, shop, session, "That code is not valid.", 422)
            await client.call("PUT", f"{base}/promotion", {"code": code})
        else:
            sku, quantity = form.get("sku", ""), _quantity(form.get("quantity"), minimum=0)
            if not SKU.match(sku) or quantity is None:
                return await _cart_with_error(request, shop, session, "Quantities go from 0 to 99.", 422)
            await client.call("PUT", f"{base}/lines/{sku}", {"quantity": quantity})
    except CheckoutProblem as exc:
        return await _cart_with_error(request, shop, session, _message(exc), exc.status)
    return Redirect(f"{shop.base}/cart", status_code=303, headers=dict(PRIVATE_HEADERS))


async def _cart_with_error(
    request: Request[Any, Any, Any], shop: Shop, session: ShopperSession, message: str, status: int
) -> Response[str]:
    status = status if 400 <= status < 500 else 503
    try:
        cart = await current_cart(request, shop)
    except PageError:
        cart = None
    return private_page(
        request, "cart.html", {"shop": shop, "cart": cart, "error": message}, session, status_code=status
    )


def _message(exc: CheckoutProblem) -> str:
    reasons = list(exc.field_errors().values())
    return reasons[0] if reasons else exc.detail or exc.title
