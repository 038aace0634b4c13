"""Pricing's schema for migrations: its tables and where their revisions live."""

from pathlib import Path

from backends.common.migrations import Schema
from backends.pricing.models import PricingBase

SCHEMA = Schema(name="pricing", metadata=PricingBase.metadata, directory=Path(__file__).parent, prefixes=("pricing_",))
