"""Alembic's entry point for the catalog's migrations (run by `storefront db` and at start-up)."""

from backends.catalog.migrations import SCHEMA
from backends.common.migrations import run_env

run_env(SCHEMA)
