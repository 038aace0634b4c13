"""The storefront origin (SSR pages, cache headers, page cache) and the CLI that runs the stack."""

from storefront.settings import Settings

__all__ = ["Settings"]
