"""Server-side carts: lines, promotion code, contact, address, shipping choice; always priced on the server."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from backends.checkout import funnel, stock
from backends.checkout.models import Cart, CartLine, Reservation
from backends.checkout.rules import PricedLine, RegionRules, quote
from backends.checkout.upstreams import Upstreams
from backends.common import Database, utcnow
from backends.common.money import parse_amount

MAX_LINES = 50
MAX_QUANTITY = 99


class CartError(Exception):
    status = 409
    title = "Conflict"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class CartNotFound(CartError):
    status, title = 404, "Not found"


class CartExpired(CartError):
    status, title = 410, "Cart expired"


class CartClosed(CartError):
    status, title = 409, "Cart already ordered"


class NotEnoughStock(CartError):
    status, title = 409, "Not enough stock"


class CartInvalid(CartError):
    """A request about a cart that is well-formed but cannot apply (unknown SKU, too many lines)."""

    status, title = 422, "Invalid request"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, **{"invalid-params": [{"name": field, "reason": detail}]})


def new_cart_id() -> str:
    return secrets.token_urlsafe(32)


class Carts:
    """Cart operations; each change is one short write transaction on a locked cart row."""

    def __init__(
        self,
        db: Database,
        upstreams: Upstreams,
        rules: Mapping[str, RegionRules],
        ttl: timedelta,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.upstreams = upstreams
        self.rules = rules
        self.ttl = ttl
        self.clock = clock  # every expiry (carts, reservations) is judged by it; tests move it forward

    async def create(self, region: str) -> Cart:
        now = self.clock()
        cart = Cart(
            id=new_cart_id(), region=region, created_at=now, updated_at=now, expires_at=now + self.ttl, lines=[]
        )
        async with self.db.write() as session:
            session.add(cart)
        return cart

    async def get(self, cart_id: str) -> Cart:
        async with self.db.sessionmaker() as session:
            cart = await session.get(Cart, cart_id)
        if cart is None:
            raise CartNotFound("No such cart.")
        return cart

    async def change(self, cart_id: str, step: str | None, apply: Callable[[Any, Cart], Awaitable[None]]) -> Cart:
        """Lock an open cart, apply a change, bump its version and lifetime, and note the funnel step."""
        async with self.db.write() as session:
            cart = await open_cart(session, cart_id, self.clock())
            await apply(session, cart)
            now = self.clock()
            cart.version += 1
            cart.updated_at = now
            cart.expires_at = now + self.ttl
            if step:
                await funnel.record(session, cart_id=cart.id, region=cart.region, step=step)
        return cart

    async def set_line(self, cart_id: str, sku: str, quantity: int, *, add: bool) -> Cart:
        cart = await self.get(cart_id)
        if quantity > 0:
            variants, prices = await self.upstreams.describe(cart.region, [(sku, 1)])
            if sku not in variants or not prices or sku in prices["missing"]:
                raise CartInvalid("sku", f"{sku} is not sold in this region.")

        async def apply(session: Any, cart: Cart) -> None:
            line = next((line for line in cart.lines if line.sku == sku), None)
            wanted = (line.quantity if line and add else 0) + quantity
            if wanted > MAX_QUANTITY:
                raise CartInvalid("quantity", f"At most {MAX_QUANTITY} of one item per order.")
            if wanted == 0:
                if line is not None:
                    cart.lines.remove(line)
                return
            if line is None and len(cart.lines) >= MAX_LINES:
                raise CartInvalid("sku", f"A cart holds at most {MAX_LINES} different items.")
            free = (await stock.available(session, cart.region, [sku])).get(sku, 0)
            own = await session.scalar(
                select(Reservation.quantity).where(
                    Reservation.cart_id == cart.id, Reservation.sku == sku, Reservation.status == "active"
                )
            )
            if wanted > free + (own or 0):
                raise NotEnoughStock(f"Only {free + (own or 0)} left of {sku}.", sku=sku, available=free + (own or 0))
            if line is None:
                cart.lines.append(CartLine(sku=sku, quantity=wanted, position=len(cart.lines)))
            else:
                line.quantity = wanted

        return await self.change(cart_id, "cart" if quantity > 0 else None, apply)

    async def set_promo_code(self, cart_id: str, code: str | None) -> Cart:
        cart = await self.get(cart_id)
        if code:
            code = code.upper()
            lines = [(line.sku, line.quantity) for line in cart.lines] or []
            if not lines:
                raise CartInvalid("code", "Add something to the cart before entering a code.")
            prices = await self.upstreams.order_prices(cart.region, lines, [code])
            if code in prices["unknown_codes"]:
                raise CartInvalid("code", f"{code} is not a valid code in this region.")

        async def apply(_: Any, cart: Cart) -> None:
            cart.promo_code = code or None

        return await self.change(cart_id, None, apply)

    async def set_contact(self, cart_id: str, email: str) -> Cart:
        async def apply(_: Any, cart: Cart) -> None:
            cart.email = email

        return await self.change(cart_id, "contact", apply)

    async def set_address(self, cart_id: str, address: dict[str, Any]) -> Cart:
        cart = await self.get(cart_id)
        check_address(self.rules[cart.region], address)

        async def apply(_: Any, cart: Cart) -> None:
            cart.address = address
            zone = self.rules[cart.region].zone(address)
            if zone is None or cart.shipping_method not in {m.code for m in zone.methods}:
                cart.shipping_method = None

        return await self.change(cart_id, "address", apply)

    async def set_shipping(self, cart_id: str, method: str) -> Cart:
        cart = await self.get(cart_id)
        rules = self.rules[cart.region]
        zone = rules.zone(cart.address) if cart.address else None
        if zone is None:
            raise CartInvalid("method", "Enter a shipping address first.")
        if method not in {m.code for m in zone.methods}:
            raise CartInvalid("method", f"Choose one of: {', '.join(m.code for m in zone.methods)}.")

        async def apply(_: Any, cart: Cart) -> None:
            cart.shipping_method = method

        return await self.change(cart_id, "shipping", apply)

    async def start_checkout(self, cart_id: str, hold: timedelta) -> tuple[Cart, datetime]:
        """Reserve stock for the cart's lines until `hold` from now (again on every call)."""
        until = self.clock() + hold

        async def apply(session: Any, cart: Cart) -> None:
            if not cart.lines:
                raise CartInvalid("cart", "The cart is empty.")
            try:
                await stock.reserve(
                    session,
                    cart_id=cart.id,
                    region=cart.region,
                    lines=[(line.sku, line.quantity) for line in cart.lines],
                    expires_at=until,
                )
            except stock.OutOfStock as exc:
                raise NotEnoughStock(
                    "Some items are no longer available in the quantity you chose.",
                    shortages=[
                        {"sku": s.sku, "requested": s.requested, "available": s.available} for s in exc.shortages
                    ],
                ) from exc

        cart = await self.change(cart_id, "checkout", apply)
        return cart, until

    async def describe(
        self, cart: Cart, *, address: dict[str, Any] | None = None, method: str | None = None
    ) -> dict[str, Any]:
        """The cart as the shopper sees it: lines with product details, prices, shipping, tax, total."""
        rules = self.rules[cart.region]
        lines = [(line.sku, line.quantity) for line in cart.lines]
        codes = [cart.promo_code] if cart.promo_code else []
        variants, prices = await self.upstreams.describe(cart.region, lines, codes)
        unit = {p["sku"]: parse_amount(p["unit"]["amount"], rules.currency) for p in (prices or {}).get("lines", [])}
        priced, unavailable = [], []
        for sku, quantity in lines:
            variant = variants.get(sku)
            if variant is None or sku not in unit:
                unavailable.append(sku)
                continue
            priced.append(PricedLine(sku, variant["title"], quantity, unit[sku], variant["weight_grams"]))
        promotions = (prices or {}).get("order_promotions", [])
        discount = sum(parse_amount(p["discount"]["amount"], rules.currency) for p in promotions)
        summary = quote(
            rules,
            priced,
            order_discount_minor=discount,
            address=address if address is not None else cart.address,
            method=method if method is not None else cart.shipping_method,
        )
        for line in summary["lines"]:
            variant = variants[line["sku"]]
            line.update(
                product_id=variant["product_id"],
                slug=variant["slug"],
                options=variant["options"],
                image=variant["image"],
            )
        return {
            "id": cart.id,
            "region": cart.region,
            "status": cart.status,
            "version": cart.version,
            "expires_at": cart.expires_at.isoformat(),
            "email": cart.email,
            "address": cart.address,
            "shipping_method": cart.shipping_method,
            "promotion": {
                "code": cart.promo_code,
                "applied": [{"name": p["name"], "discount": p["discount"]} for p in promotions],
            },
            "item_count": sum(q for _, q in lines),
            "destinations": {
                "countries": list(rules.countries),
                "states": sorted(rules.tax_rates) if rules.zone_by == "state" else [],
            },
            "unavailable": unavailable,
            "ready": bool(priced) and not unavailable and bool(cart.email) and cart.shipping_method is not None,
            **summary,
        }


async def open_cart(session: Any, cart_id: str, now: datetime | None = None) -> Cart:
    """The cart, locked for this transaction; refuses unknown, expired (at `now`) and already ordered carts."""
    cart = await session.get(Cart, cart_id, with_for_update=True)
    if cart is None:
        raise CartNotFound("No such cart.")
    if cart.status == "ordered":
        raise CartClosed("This cart has been ordered; start a new one.")
    if cart.expires_at <= (now if now is not None else utcnow()):
        raise CartExpired("This cart has expired; start a new one.")
    return cart


def check_address(rules: RegionRules, address: Mapping[str, Any]) -> None:
    country = str(address.get("country", "")).upper()
    if country not in rules.countries:
        raise CartInvalid("country", f"We ship to {', '.join(rules.countries)} from this region.")
    if rules.zone_by == "state" and str(address.get("state", "")).upper() not in rules.tax_rates:
        raise CartInvalid("state", "Choose a state.")
