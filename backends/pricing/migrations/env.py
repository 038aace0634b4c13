"""Alembic's entry point for the pricing's migrations (run by `storefront db` and at start-up)."""

from backends.common.migrations import run_env
from backends.pricing.migrations import SCHEMA

run_env(SCHEMA)
