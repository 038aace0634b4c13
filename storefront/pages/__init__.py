"""Shopper-facing pages, one module per page kind."""
