"""The payment provider interface and the built-in test provider with documented test cards."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal, Protocol

from backends.checkout.models import Charge
from backends.common import Database

PaymentStatus = Literal["succeeded", "declined", "error"]

# The test provider's cards (any future expiry, any CVC). Other valid numbers are declined.
SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
PROVIDER_ERROR = "4000000000000119"  # the provider fails before charging
TIMES_OUT = "4000000000000259"  # charged, but the answer arrives after the checkout stopped waiting


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    exp_month: int
    exp_year: int
    cvc: str

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True, slots=True)
class PaymentResult:
    status: PaymentStatus
    reference: str
    message: str = ""


class PaymentProvider(Protocol):
    """What checkout needs from a payment provider. `reference` is our order id and the provider's
    idempotency key: charging one reference twice must charge once."""

    async def charge(self, *, reference: str, amount_minor: int, currency: str, card: Card) -> PaymentResult: ...

    async def lookup(self, reference: str) -> PaymentResult | None:
        """The outcome of an earlier charge, or None if the provider never took it."""
        ...

    async def refund(self, reference: str) -> None: ...


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


class TestPaymentProvider:
    """Keeps its ledger in its own table and its own transactions, as an external provider would."""

    __test__ = False  # not a pytest class

    def __init__(self, db: Database, *, hang_seconds: float) -> None:
        self._db = db
        self._hang = hang_seconds

    async def charge(self, *, reference: str, amount_minor: int, currency: str, card: Card) -> PaymentResult:
        if card.number == PROVIDER_ERROR:
            return PaymentResult("error", reference, "The payment provider had an internal error.")
        outcome = "succeeded" if card.number in (SUCCEEDS, TIMES_OUT) else "declined"
        async with self._db.write() as session:
            existing = await session.get(Charge, reference)
            if existing is None:
                session.add(
                    Charge(
                        reference=reference,
                        amount_minor=amount_minor,
                        currency=currency,
                        card_last4=card.last4,
                        outcome=outcome,
                    )
                )
            else:
                outcome = existing.outcome
        if card.number == TIMES_OUT:
            await asyncio.sleep(self._hang)
        if outcome == "declined":
            return PaymentResult("declined", reference, "The card was declined.")
        return PaymentResult("succeeded", reference)

    async def lookup(self, reference: str) -> PaymentResult | None:
        async with self._db.sessionmaker() as session:
            charge = await session.get(Charge, reference)
        if charge is None:
            return None
        if charge.outcome == "declined":
            return PaymentResult("declined", reference, "The card was declined.")
        return PaymentResult("succeeded", reference)

    async def refund(self, reference: str) -> None:
        async with self._db.write() as session:
            charge = await session.get(Charge, reference)
            if charge is not None and charge.outcome == "succeeded":
                charge.outcome = "refunded"
