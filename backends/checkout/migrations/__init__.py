"""Checkout's schema for migrations: its tables (and the test payment provider's ledger) and their revisions."""

from pathlib import Path

from backends.checkout.models import CheckoutBase
from backends.common.migrations import Schema

SCHEMA = Schema(
    name="checkout",
    metadata=CheckoutBase.metadata,
    directory=Path(__file__).parent,
    prefixes=("checkout_", "testpay_"),
)
