"""Placing orders exactly once: idempotency keys, stock held for the order, payment outside the
transaction, a re-check after the provider answers, and reconciliation of what a crash left pending.

The flow for `POST /orders`:
1. claim the Idempotency-Key (the same key and body replays the first outcome, another body is refused,
   a concurrent duplicate is told the first is in progress);
2. price the cart on the server (catalog and pricing), and refuse if the total the shopper saw differs;
3. in one transaction on the locked cart: look the order up by cart first (a cart is ordered once),
   hold stock for every line, create the order as `pending_payment`;
4. charge the card, outside any transaction, with a timeout;
5. in one transaction on the locked order: if it is still pending, mark it placed (commit stock,
   close the cart, write `order.placed` and `inventory.changed`) or failed (release the stock).
A crash or timeout between 3 and 5 leaves a pending order; `reconcile` asks the provider and finishes it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from backends.checkout import funnel, stock
from backends.checkout.carts import CartClosed, CartError, CartInvalid, Carts, NotEnoughStock, open_cart
from backends.checkout.models import Cart, CheckoutEvent, IdempotencyKey, Order, Reservation
from backends.checkout.payments import Card, PaymentProvider, PaymentResult
from backends.common import add_event
from backends.common.money import money

_log = logging.getLogger(__name__)
KEY_RETENTION = timedelta(hours=48)  # Stripe keeps keys at least 24 hours
SUMMARY_KEYS = ("lines", "subtotal", "discount", "shipping", "tax", "currency", "total")


class IdempotencyMismatch(CartError):
    status, title = 422, "Idempotency key reused"


class RequestInProgress(CartError):
    status, title = 409, "Request in progress"


class PriceChanged(CartError):
    status, title = 409, "Total changed"


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def request_fingerprint(cart_id: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({"cart": cart_id, **body}, sort_keys=True).encode()).hexdigest()


def order_view(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "number": order_number(order.id),
        "status": order.status,
        "region": order.region,
        "email": order.email,
        "address": order.address,
        "card_last4": order.card_last4,
        "failure": order.failure,
        "created_at": order.created_at.isoformat(),
        "total": money(order.total_minor, order.currency),
        **{k: order.summary[k] for k in SUMMARY_KEYS if k != "total"},
    }


def order_number(order_id: str) -> str:
    return order_id.replace("-", "")[:10].upper()


class Orders:
    def __init__(self, carts: Carts, provider: PaymentProvider, *, payment_timeout: float) -> None:
        self.carts = carts
        self.db = carts.db
        self.provider = provider
        self.payment_timeout = payment_timeout
        self.clock = carts.clock
        # Orders settled since start-up by outcome (placed, declined, provider_error) and payments still pending
        # at the timeout (payment_pending); read by the metrics (backends/checkout/metrics.py).
        self.outcomes: Counter[str] = Counter()

    async def place(
        self, *, key: str, cart_id: str, card: Card, expected_total: str | None, fingerprint: str
    ) -> Outcome:
        replay = await self._claim(key, fingerprint)
        if replay is not None:
            return replay
        try:
            order = await self._create(key, cart_id, card, expected_total)
        except BaseException:
            await self._forget(key)  # nothing happened yet: the shopper may fix the cart and retry the key
            raise
        if isinstance(order, Outcome):  # the cart was already ordered (another key or a replay)
            async with self.db.write() as session:
                await self._store_outcome(session, key, order)
            return order
        try:
            result = await asyncio.wait_for(
                self.provider.charge(
                    reference=order.id, amount_minor=order.total_minor, currency=order.currency, card=card
                ),
                self.payment_timeout,
            )
        except TimeoutError:
            _log.warning("payment for order %s timed out; reconciliation will settle it", order.id)
            self.outcomes["payment_pending"] += 1
            return Outcome(202, {**order_view(order), "detail": "Payment is being confirmed."})
        return await self.settle(order.id, result)

    async def _claim(self, key: str, fingerprint: str) -> Outcome | None:
        for _ in range(2):
            try:
                async with self.db.write() as session:
                    existing = await session.get(IdempotencyKey, key, with_for_update=True)
                    if existing is None:
                        session.add(IdempotencyKey(key=key, request_hash=fingerprint))
                        return None
                    if existing.request_hash != fingerprint:
                        raise IdempotencyMismatch("This Idempotency-Key was used with a different request.")
                    if existing.status != "done":
                        raise RequestInProgress("A request with this Idempotency-Key is still being processed.")
                    return Outcome(existing.response_status or 200, existing.response_body or {}, replayed=True)
            except IntegrityError:
                continue  # a concurrent request inserted the key first: read what it wrote
        raise RequestInProgress("A request with this Idempotency-Key is still being processed.")

    async def _forget(self, key: str) -> None:
        async with self.db.write() as session:
            await session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.status == "started")
            )

    @staticmethod
    async def _store_outcome(session: Any, key: str, outcome: Outcome) -> None:
        """The key's first outcome, kept for replays (in the caller's transaction)."""
        row = await session.get(IdempotencyKey, key)
        if row is not None and row.status != "done":
            row.status, row.response_status, row.response_body = "done", outcome.status, outcome.body

    async def _create(self, key: str, cart_id: str, card: Card, expected_total: str | None) -> Order | Outcome:
        cart = await self.carts.get(cart_id)
        summary = await self.carts.describe(cart)
        if summary["unavailable"]:
            raise CartInvalid("cart", "Some items are no longer sold; remove them to continue.")
        if not summary["lines"]:
            raise CartInvalid("cart", "The cart is empty.")
        if not (cart.email and cart.address and cart.shipping_method and summary["complete"]):
            raise CartInvalid("cart", "Add contact details, a shipping address and a shipping method first.")
        if expected_total is not None and expected_total != summary["total"]["amount"]:
            raise PriceChanged(
                f"The total is now {summary['total']['amount']} {summary['currency']}; please review it.",
                total=summary["total"],
            )
        order_id = str(uuid.uuid4())
        async with self.db.write() as session:
            # Lock the cart first, then look for its order: two requests for one cart cannot both miss it.
            try:
                locked = await open_cart(session, cart_id, self.clock())
            except CartClosed:
                placed = await session.scalar(select(Order).where(Order.cart_id == cart_id, Order.status == "placed"))
                if placed is None:
                    raise
                return Outcome(200, order_view(placed))
            pending = await session.scalar(
                select(Order.id).where(Order.cart_id == cart_id, Order.status == "pending_payment").limit(1)
            )
            if pending is not None:
                raise RequestInProgress("This cart's payment is already being processed.")
            if locked.version != cart.version:
                raise PriceChanged("The cart changed while it was being priced; please review it.")
            try:
                await stock.reserve(
                    session,
                    cart_id=cart_id,
                    region=cart.region,
                    lines=[(line.sku, line.quantity) for line in locked.lines],
                    expires_at=self.clock() + timedelta(seconds=self.payment_timeout),
                    order_id=order_id,
                )
            except stock.OutOfStock as exc:
                raise NotEnoughStock(
                    "Some items sold out while you were checking out.",
                    shortages=[
                        {"sku": s.sku, "requested": s.requested, "available": s.available} for s in exc.shortages
                    ],
                ) from exc
            order = Order(
                id=order_id,
                cart_id=cart_id,
                region=cart.region,
                currency=summary["currency"],
                email=cart.email,
                address=cart.address,
                summary={
                    k: summary[k] for k in ("lines", "subtotal", "discount", "shipping", "tax", "currency", "total")
                },
                total_minor=summary["total_minor"],
                card_last4=card.last4,
                created_at=self.clock(),  # reconciliation compares it with the same clock
            )
            session.add(order)
            row = await session.get(IdempotencyKey, key)
            if row is not None:
                row.order_id = order_id
            await funnel.record(session, cart_id=cart_id, region=cart.region, step="payment")
        return order

    async def settle(self, order_id: str, result: PaymentResult) -> Outcome:
        """Apply the provider's answer to a pending order, once; a late success on a closed order is refunded."""
        refund = False
        async with self.db.write() as session:
            order = await session.get(Order, order_id, with_for_update=True)
            if order is None:
                raise LookupError(order_id)
            held = list(
                (
                    await session.scalars(select(Reservation).where(Reservation.order_id == order_id).with_for_update())
                ).all()
            )
            if order.status != "pending_payment":
                refund = result.status == "succeeded" and order.status != "placed"
                outcome = _outcome(order)
            else:
                order.updated_at = self.clock()
                if result.status == "succeeded":
                    order.status, order.payment_ref = "placed", result.reference
                    await stock.commit(session, held, order_id=order.id)
                    cart = await session.get(Cart, order.cart_id, with_for_update=True)
                    if cart is not None:
                        cart.status = "ordered"
                    add_event(
                        session,
                        CheckoutEvent,
                        "order.placed",
                        [order.region],
                        {
                            "order_id": order.id,
                            "region": order.region,
                            "total": money(order.total_minor, order.currency),
                            "lines": [
                                {"sku": line["sku"], "quantity": line["quantity"]} for line in order.summary["lines"]
                            ],
                        },
                    )
                    await funnel.record(session, cart_id=order.cart_id, region=order.region, step="placed")
                    self.outcomes["placed"] += 1
                else:
                    order.status = "declined" if result.status == "declined" else "failed"
                    self.outcomes["declined" if order.status == "declined" else "provider_error"] += 1
                    order.failure = result.message[:200]
                    await stock.release(session, held)
                outcome = _outcome(order)
                keys = await session.scalars(select(IdempotencyKey).where(IdempotencyKey.order_id == order.id))
                for key in keys.all():
                    await self._store_outcome(session, key.key, outcome)
        if refund:
            _log.warning("order %s was closed before its payment succeeded; refunding", order_id)
            await self.provider.refund(order_id)
        return outcome

    async def reconcile(self, *, older_than: datetime) -> int:
        """Settle orders left pending by a crash or a timeout, from what the provider says happened."""
        async with self.db.sessionmaker() as session:
            pending = (
                await session.scalars(
                    select(Order.id).where(Order.status == "pending_payment", Order.created_at <= older_than)
                )
            ).all()
        for order_id in pending:
            result = await self.provider.lookup(order_id)
            if result is None:
                result = PaymentResult("error", order_id, "The payment was not taken; nothing was charged.")
            await self.settle(order_id, result)
            _log.info("reconciled order %s: %s", order_id, result.status)
        return len(pending)

    async def get(self, order_id: str) -> Order | None:
        async with self.db.sessionmaker() as session:
            return await session.get(Order, order_id)

    async def forget_old_keys(self, now: datetime) -> None:
        async with self.db.write() as session:
            await session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.created_at < now - KEY_RETENTION, IdempotencyKey.status == "done"
                )
            )


def _outcome(order: Order) -> Outcome:
    view = order_view(order)
    if order.status == "placed":
        return Outcome(201, view)
    if order.status == "declined":
        return Outcome(402, _problem(402, "Payment declined", order.failure or "The card was declined.", view))
    if order.status == "failed":
        return Outcome(502, _problem(502, "Payment failed", order.failure or "The payment failed.", view))
    return Outcome(202, view)


def _problem(status: int, title: str, detail: str, order: dict[str, Any]) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, "order": order}
