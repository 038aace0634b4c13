"""The storefront origin: SSR pages, cache headers, the page cache."""
