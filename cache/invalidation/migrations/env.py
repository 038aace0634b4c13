"""Alembic's entry point for the invalidator's migrations (run by `storefront db` and at start-up)."""

from backends.common.migrations import run_env
from cache.invalidation.migrations import SCHEMA

run_env(SCHEMA)
