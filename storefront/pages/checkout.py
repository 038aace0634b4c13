"""The single-page checkout: contact, address, shipping method, payment and review, then confirmation.

Every step is a plain form post that works without scripts; with scripts, the order summary follows the
address and shipping method as the shopper types (`/checkout/quote`). Opening the page (re)starts the
stock reservation for the cart.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from backends.common.params import bounded_int
from backends.common.problems import problem
from cache.policy import PRIVATE_HEADERS
from storefront.checkout_client import CheckoutProblem
from storefront.pages.common import PageError, Shop, shop_for
from storefront.pages.private import (
    checkout_client,
    current_cart,
    form_of,
    private_page,
    require_csrf,
)
from storefront.session import ShopperSession, cart_id_of, session_of

STEPS = ("contact", "address", "shipping", "payment")
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country", "phone")
_KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_ORDER_ID = re.compile(r"^[0-9a-f-]{36}$")
IN_PROGRESS_WAIT = 5.0


def current_step(cart: dict[str, Any]) -> str:
    if not cart["email"]:
        return "contact"
    if not cart["address"]:
        return "address"
    if not cart["shipping_method"]:
        return "shipping"
    return "payment"


def _render(
    request: Request[Any, Any, Any],
    shop: Shop,
    session: ShopperSession,
    cart: dict[str, Any],
    *,
    edit: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    message: str | None = None,
) -> Response[str]:
    step = current_step(cart)
    open_step = edit if edit in STEPS and STEPS.index(edit) <= STEPS.index(step) else step
    context = {
        "shop": shop,
        "cart": cart,
        "step": step,
        "open_step": open_step,
        "steps": STEPS,
        "errors": errors or {},
        "values": values or {},
        "message": message,
        "idempotency_key": str(uuid.uuid4()),
    }
    return private_page(request, "checkout.html", context, session, status_code=status_code)


@get("/{region:str}/{lang:str}/checkout", name="checkout")
async def checkout_page(request: Request[Any, Any, Any], region: str, lang: str, edit: str = "") -> Response[Any]:
    shop = shop_for(request, region, lang)
    session = session_of(request)
    cart = await current_cart(request, shop)
    if cart is None or not cart["lines"]:
        return Redirect(f"{shop.base}/cart", status_code=303, headers=dict(PRIVATE_HEADERS))
    try:
        _, cart = await checkout_client(request).call("POST", f"/carts/{cart['id']}/checkout")
    except CheckoutProblem as exc:
        context = {"shop": shop, "cart": cart, "error": exc.detail or exc.title, "shortages": exc.body.get("shortages")}
        return private_page(request, "cart.html", context, session, status_code=exc.status if exc.status < 500 else 503)
    return _render(request, shop, session, cart, edit=edit[:20])


@post("/{region:str}/{lang:str}/checkout", name="checkout-step", status_code=303)
async def checkout_step(request: Request[Any, Any, Any], region: str, lang: str) -> Response[Any]:
    shop = shop_for(request, region, lang)
    session = session_of(request)
    form = await form_of(request)
    require_csrf(request, session, form)
    step = form.get("step", "")
    if step == "place":
        # Not `current_cart`: a double submit arrives after the first closed the cart, and must see its order.
        cart_id = cart_id_of(request, shop.region.code)
        if cart_id is None:
            return Redirect(f"{shop.base}/cart", status_code=303, headers=dict(PRIVATE_HEADERS))
        return await _place(request, shop, session, cart_id, form)
    cart = await current_cart(request, shop)
    if cart is None:
        return Redirect(f"{shop.base}/cart", status_code=303, headers=dict(PRIVATE_HEADERS))
    client, base = checkout_client(request), f"/carts/{cart['id']}"
    try:
        if step == "contact":
            await client.call("PUT", f"{base}/contact", {"email": form.get("email", "").strip()})
        elif step == "address":
            address = {f: form.get(f, "").strip() for f in ADDRESS_FIELDS}
            await client.call("PUT", f"{base}/address", {k: v for k, v in address.items() if v or k == "line2"})
        elif step == "shipping":
            await client.call("PUT", f"{base}/shipping", {"method": form.get("method", "")})
        else:
            raise PageError(400, "Bad request", "We could not tell which checkout step that form was for.")
    except CheckoutProblem as exc:
        errors = exc.field_errors() or {"form": exc.detail or exc.title}
        status = exc.status if exc.status < 500 else 503
        return _render(request, shop, session, cart, edit=step, errors=errors, values=form, status_code=status)
    return Redirect(f"{shop.base}/checkout", status_code=303, headers=dict(PRIVATE_HEADERS))


async def _place(
    request: Request[Any, Any, Any], shop: Shop, session: ShopperSession, cart_id: str, form: dict[str, str]
) -> Response[Any]:
    key = form.get("idempotency_key", "")
    raw_year = form.get("exp_year", "").strip()
    month, year = bounded_int(form.get("exp_month", ""), 1, 12), bounded_int(raw_year, 0, 9999)
    errors = {}
    if not _KEY.match(key):
        errors["form"] = "This form is out of date; please review your order and try again."
    if month is None or year is None or len(raw_year) not in (2, 4):
        errors["exp_year"] = "Enter the expiry month and year."
    if errors or month is None or year is None:
        return await _payment_error(request, shop, session, errors, 422)
    body = {
        "cart_id": cart_id,
        "card": {
            "number": form.get("number", "")[:23],
            "exp_month": month,
            "exp_year": year + (2000 if len(raw_year) == 2 else 0),
            "cvc": form.get("cvc", "")[:4],
        },
        "expected_total": form.get("expected_total") or None,
    }
    client = checkout_client(request)
    deadline = asyncio.get_running_loop().time() + IN_PROGRESS_WAIT
    while True:
        try:
            _, order = await client.place_order(body, key)
            break
        except CheckoutProblem as exc:
            # A double-click: the first submit is still paying; wait for it and show its outcome.
            if exc.title == "Request in progress" and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.25)
                continue
            errors = exc.field_errors() or {"payment": exc.detail or exc.title}
            return await _payment_error(request, shop, session, errors, exc.status)
    return Redirect(f"{shop.base}/checkout/orders/{order['id']}", status_code=303, headers=dict(PRIVATE_HEADERS))


async def _payment_error(
    request: Request[Any, Any, Any], shop: Shop, session: ShopperSession, errors: dict[str, str], status: int
) -> Response[Any]:
    """The checkout again, with the payment step open and the reason; the cart as it is now."""
    cart = await current_cart(request, shop)
    if cart is None:
        return Redirect(f"{shop.base}/cart", status_code=303, headers=dict(PRIVATE_HEADERS))
    status = status if status < 500 or status == 502 else 503
    return _render(request, shop, session, cart, errors=errors, status_code=status)


@post("/{region:str}/{lang:str}/checkout/quote", name="checkout-quote")
async def checkout_quote(request: Request[Any, Any, Any], region: str, lang: str) -> Response[Any]:
    """The order summary for an address and method being typed (HTML to swap in), without saving them."""
    shop = shop_for(request, region, lang)
    session = session_of(request)
    try:
        data = await request.json()
    except Exception:
        data = None
    if not isinstance(data, dict):
        raise PageError(400, "Bad request", "Expected a JSON object.")
    require_csrf(request, session, {})
    cart = await current_cart(request, shop)
    if cart is None:
        raise PageError(409, "Cart expired", "Your cart has expired.")
    address = {f: str(data.get(f, ""))[:120].strip() for f in ADDRESS_FIELDS}
    body = {"address": {k: v for k, v in address.items() if v or k == "line2"}}
    if data.get("method"):
        body["method"] = str(data["method"])[:20]
    try:
        _, quoted = await checkout_client(request).call("POST", f"/carts/{cart['id']}/quote", body)
    except CheckoutProblem as exc:
        # Problem details, with the page script's `error` and `fields` as extension members.
        return problem(
            422,
            "Invalid address",
            exc.detail or exc.title,
            headers=dict(PRIVATE_HEADERS),
            error=exc.detail or exc.title,
            fields=exc.field_errors(),
        )
    env = request.app.state.templates
    html = env.get_template("_summary.html").render(shop=shop, cart=quoted, locale=shop.locale)
    return Response({"html": html, "total": quoted["total"]["amount"]}, status_code=200, headers=dict(PRIVATE_HEADERS))


@get("/{region:str}/{lang:str}/checkout/orders/{order_id:str}", name="order-confirmation")
async def confirmation(request: Request[Any, Any, Any], region: str, lang: str, order_id: str) -> Response[str]:
    shop = shop_for(request, region, lang)
    session = session_of(request)
    cart_id = cart_id_of(request, shop.region.code)
    if cart_id is None or not _ORDER_ID.match(order_id):
        raise PageError(404, "Order not found", "We could not find that order in this browser.")
    try:
        _, order = await checkout_client(request).call("GET", f"/orders/{order_id}", params={"cart_id": cart_id})
    except CheckoutProblem as exc:
        if exc.status == 404:
            raise PageError(404, "Order not found", "We could not find that order in this browser.") from None
        raise PageError(503, "Temporarily unavailable", exc.detail or exc.title) from None
    return private_page(request, "order.html", {"shop": shop, "order": order}, session)
