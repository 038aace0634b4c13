"""The checkout service's HTTP API: carts, quotes, checkout start, orders, stock and funnel admin."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backends.checkout import funnel, stock
from backends.checkout.carts import CartError, CartInvalid, check_address
from backends.checkout.models import Stock
from backends.checkout.orders import order_view, request_fingerprint
from backends.checkout.payments import Card, luhn_valid
from backends.checkout.schemas import CartView, CheckoutStarted, Funnel, OrderProblem, OrderView, StockLevel, StockWrite
from backends.checkout.upstreams import UpstreamUnavailable
from backends.common import invalid, require_token, utcnow
from backends.common.openapi import problems
from backends.common.params import PRINTABLE, REGION_CODE, RegionPath, ascii_digits
from backends.common.problems import problem
from backends.common.validation import PROMO_CODE, SKU, region_of

CART_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=PRINTABLE)]
Quantity = Annotated[int, msgspec.Meta(ge=0, le=1000)]
Region = Annotated[str, msgspec.Meta(max_length=16, pattern=REGION_CODE)]
SkuPath = Annotated[str, Parameter(max_length=64, pattern=SKU.pattern)]
_EMAIL_PART = r"[^@\s\x00-\x1f\x7f]"  # no control characters: the address is stored and mailed


class NewCart(msgspec.Struct, forbid_unknown_fields=True):
    region: Region


class LineIn(msgspec.Struct):
    """Unknown fields (a `price`, say) are ignored: the server prices every line itself."""

    sku: Annotated[str, msgspec.Meta(pattern=SKU.pattern)]
    quantity: Quantity = 1


class QuantityIn(msgspec.Struct):
    quantity: Quantity


class PromoIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Annotated[str, msgspec.Meta(pattern=PROMO_CODE)]


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[
        str, msgspec.Meta(max_length=254, pattern=f"^{_EMAIL_PART}{{1,64}}@{_EMAIL_PART}+\\.{_EMAIL_PART}{{2,}}$")
    ]


class AddressIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Text
    line1: Text
    city: Text
    postal_code: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,10}$")]
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$")]
    line2: Annotated[str, msgspec.Meta(max_length=120, pattern=PRINTABLE)] = ""
    state: Annotated[str, msgspec.Meta(max_length=3, pattern=PRINTABLE)] = ""
    phone: Annotated[str, msgspec.Meta(max_length=32, pattern=PRINTABLE)] = ""

    def as_dict(self) -> dict[str, str]:
        data = msgspec.structs.asdict(self)
        data["country"], data["state"] = self.country.upper(), self.state.upper()
        return {k: v.strip() for k, v in data.items()}


class ShippingIn(msgspec.Struct, forbid_unknown_fields=True):
    method: Annotated[str, msgspec.Meta(max_length=20, pattern=PRINTABLE)]


class QuoteIn(msgspec.Struct, forbid_unknown_fields=True):
    address: AddressIn
    method: Annotated[str, msgspec.Meta(max_length=20, pattern=PRINTABLE)] | None = None


class CardIn(msgspec.Struct, forbid_unknown_fields=True):
    number: Annotated[str, msgspec.Meta(max_length=23, pattern=r"^[0-9 -]+$")]
    exp_month: Annotated[int, msgspec.Meta(ge=1, le=12)]
    exp_year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    cvc: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{3,4}$")]

    def card(self) -> Card:
        number = self.number.replace(" ", "").replace("-", "")
        if not (ascii_digits(number) and 12 <= len(number) <= 19 and luhn_valid(number)):
            raise invalid("card.number", "not a valid card number", source="body")
        now = datetime.now(UTC)
        if (self.exp_year, self.exp_month) < (now.year, now.month):
            raise invalid("card.exp_year", "the card has expired", source="body")
        return Card(number=number, exp_month=self.exp_month, exp_year=self.exp_year, cvc=self.cvc)


class OrderIn(msgspec.Struct, forbid_unknown_fields=True):
    cart_id: Annotated[str, msgspec.Meta(pattern=CART_ID.pattern)]
    card: CardIn
    # The total the shopper was shown; a different server total refuses the order rather than charge it.
    expected_total: Annotated[str, msgspec.Meta(max_length=20, pattern=PRINTABLE)] | None = None


class StockIn(msgspec.Struct, forbid_unknown_fields=True):
    on_hand: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


def _cart_id(cart_id: str) -> str:
    if not CART_ID.match(cart_id):
        raise NotFoundException(detail="No such cart.")
    return cart_id


def cart_error(_: Request[Any, Any, Any], exc: CartError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.title, exc.detail, **exc.extra)


def upstream_error(_: Request[Any, Any, Any], exc: UpstreamUnavailable) -> Response[dict[str, Any]]:
    return problem(503, "Prices unavailable", f"Checkout cannot price the cart right now ({exc}).")


# What a cart route can answer besides success: no such cart, expired, already ordered or short of stock,
# invalid for the cart's region, or prices unavailable upstream.
CART_ERRORS = problems(404, 409, 410, 422, 503)
ORDER_RESPONSES = {
    **problems(402, 404, 409, 410, 422, 502, 503),
    200: ResponseSpec(OrderView, description="The cart was already ordered: that order.", generate_examples=False),
    202: ResponseSpec(OrderView, description="Payment is being confirmed.", generate_examples=False),
    **{
        status: ResponseSpec(
            OrderProblem, media_type="application/problem+json", description=text, generate_examples=False
        )
        for status, text in ((402, "The card was declined."), (502, "The payment provider failed."))
    },
}


class CheckoutController(Controller):
    @post("/carts", responses=CART_ERRORS)
    async def create_cart(self, state: State, data: NewCart) -> CartView:
        region_of(state, data.region)
        cart = await state.carts.create(data.region)
        return await state.carts.describe(cart)

    @get("/carts/{cart_id:str}", responses=CART_ERRORS)
    async def cart(self, state: State, cart_id: str) -> CartView:
        return await state.carts.describe(await state.carts.get(_cart_id(cart_id)))

    @post("/carts/{cart_id:str}/lines", status_code=200, responses=CART_ERRORS)
    async def add_line(self, state: State, cart_id: str, data: LineIn) -> CartView:
        if data.quantity < 1:
            raise invalid("quantity", "add at least one", source="body")
        cart = await state.carts.set_line(_cart_id(cart_id), data.sku, data.quantity, add=True)
        return await state.carts.describe(cart)

    @put("/carts/{cart_id:str}/lines/{sku:str}", responses=CART_ERRORS)
    async def set_line(self, state: State, cart_id: str, sku: SkuPath, data: QuantityIn) -> CartView:
        if not SKU.match(sku):
            raise invalid("sku", "not a SKU", source="path")
        cart = await state.carts.set_line(_cart_id(cart_id), sku, data.quantity, add=False)
        return await state.carts.describe(cart)

    @delete("/carts/{cart_id:str}/lines/{sku:str}", status_code=200, responses=CART_ERRORS)
    async def remove_line(self, state: State, cart_id: str, sku: SkuPath) -> CartView:
        if not SKU.match(sku):
            raise invalid("sku", "not a SKU", source="path")
        cart = await state.carts.set_line(_cart_id(cart_id), sku, 0, add=False)
        return await state.carts.describe(cart)

    @put("/carts/{cart_id:str}/promotion", responses=CART_ERRORS)
    async def promotion(self, state: State, cart_id: str, data: PromoIn) -> CartView:
        return await state.carts.describe(await state.carts.set_promo_code(_cart_id(cart_id), data.code))

    @delete("/carts/{cart_id:str}/promotion", status_code=200, responses=CART_ERRORS)
    async def drop_promotion(self, state: State, cart_id: str) -> CartView:
        return await state.carts.describe(await state.carts.set_promo_code(_cart_id(cart_id), None))

    @put("/carts/{cart_id:str}/contact", responses=CART_ERRORS)
    async def contact(self, state: State, cart_id: str, data: ContactIn) -> CartView:
        return await state.carts.describe(await state.carts.set_contact(_cart_id(cart_id), data.email.strip()))

    @put("/carts/{cart_id:str}/address", responses=CART_ERRORS)
    async def address(self, state: State, cart_id: str, data: AddressIn) -> CartView:
        return await state.carts.describe(await state.carts.set_address(_cart_id(cart_id), data.as_dict()))

    @put("/carts/{cart_id:str}/shipping", responses=CART_ERRORS)
    async def shipping(self, state: State, cart_id: str, data: ShippingIn) -> CartView:
        return await state.carts.describe(await state.carts.set_shipping(_cart_id(cart_id), data.method))

    @post("/carts/{cart_id:str}/quote", status_code=200, responses=CART_ERRORS)
    async def quote(self, state: State, cart_id: str, data: QuoteIn) -> CartView:
        """Shipping options, tax and total for an address, without saving it (the page's live update)."""
        cart = await state.carts.get(_cart_id(cart_id))
        address = data.address.as_dict()
        check_address(state.carts.rules[cart.region], address)
        return await state.carts.describe(cart, address=address, method=data.method)

    @post("/carts/{cart_id:str}/checkout", status_code=200, responses=CART_ERRORS)
    async def start_checkout(self, state: State, cart_id: str) -> CheckoutStarted:
        """Hold stock for the cart until the reservation expires (each call renews the hold)."""
        hold = timedelta(seconds=state.settings.reservation_ttl)
        cart, until = await state.carts.start_checkout(_cart_id(cart_id), hold)
        return {**await state.carts.describe(cart), "reserved_until": until.isoformat()}

    @post("/orders", status_code=201, responses=ORDER_RESPONSES)
    async def place_order(
        self,
        state: State,
        data: OrderIn,
        idempotency_key: Annotated[
            str, HeaderParameter(name="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[ -~]+$")
        ],
    ) -> Response[OrderView]:
        """Place the cart's order and charge the card, exactly once per Idempotency-Key and per cart."""
        card = data.card.card()
        body = {
            "card": {"number": card.number, "exp": [card.exp_month, card.exp_year], "cvc": card.cvc},
            "expected_total": data.expected_total,
        }
        outcome = await state.orders.place(
            key=idempotency_key,
            cart_id=data.cart_id,
            card=card,
            expected_total=data.expected_total,
            fingerprint=request_fingerprint(data.cart_id, body),
        )
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        media = "application/problem+json" if outcome.status >= 400 else "application/json"
        return Response(outcome.body, status_code=outcome.status, headers=headers, media_type=media)  # type: ignore[arg-type]

    @get("/orders/{order_id:str}")
    async def order(
        self, state: State, order_id: str, cart_id: Annotated[str, Parameter(max_length=64, pattern=r"^[!-~]*$")]
    ) -> OrderView:
        """An order, to whoever holds the cart token it was placed from."""
        found = await state.orders.get(order_id[:36])
        if found is None or found.cart_id != cart_id:
            raise NotFoundException(detail="No such order.")
        return order_view(found)  # type: ignore[return-value]  # encoded as is; OrderView documents it

    @put("/admin/stock/{region:str}/{sku:str}", guards=[require_token])
    async def set_stock(self, state: State, region: RegionPath, sku: SkuPath, data: StockIn) -> StockWrite:
        """Set sellable stock on hand (a count or a restock); refused below what live reservations hold."""
        region_of(state, region)
        if not SKU.match(sku):
            raise invalid("sku", "not a SKU", source="path")
        try:
            async with state.db.write() as session:
                return {  # type: ignore[return-value]  # encoded as is; StockWrite documents it
                    "region": region,
                    "sku": sku,
                    **await stock.set_on_hand(session, region=region, sku=sku, on_hand=data.on_hand),
                }
        except stock.StockBelowReserved as exc:
            raise CartInvalid("on_hand", f"Cannot go below reserved stock: {exc}.") from exc

    @get("/admin/stock/{region:str}/{sku:str}", guards=[require_token])
    async def get_stock(self, state: State, db_session: AsyncSession, region: RegionPath, sku: SkuPath) -> StockLevel:
        region_of(state, region)
        row = await db_session.get(Stock, (region, sku[:64]))
        if row is None:
            raise NotFoundException(detail=f"No stock record for {sku!r} in {region!r}.")
        return StockLevel(region=region, sku=row.sku, on_hand=row.on_hand, reserved=row.reserved)

    @get("/admin/funnel", guards=[require_token])
    async def funnel(
        self,
        state: State,
        db_session: AsyncSession,
        region: Annotated[str | None, Parameter(max_length=16, pattern=REGION_CODE)] = None,
        hours: Annotated[float | None, Parameter(gt=0, le=24 * 366)] = None,
    ) -> Funnel:
        """Carts reaching each checkout step, and the conversion from one step to the next."""
        if region:
            region_of(state, region)
        since = utcnow() - timedelta(hours=hours) if hours else None
        steps = await funnel.conversion(db_session, region=region, since=since)
        return {"region": region, "steps": steps}  # type: ignore[return-value]  # encoded as is; Funnel documents it
