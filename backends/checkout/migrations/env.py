"""Alembic's entry point for the checkout's migrations (run by `storefront db` and at start-up)."""

from backends.checkout.migrations import SCHEMA
from backends.common.migrations import run_env

run_env(SCHEMA)
