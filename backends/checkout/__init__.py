"""The checkout service: server-side carts, shipping and tax quotes, stock reservations, orders, payments."""

from backends.checkout.app import create_app

__all__ = ["create_app"]
