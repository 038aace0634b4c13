"""Surrogate keys, the cache header policy, and the origin's own page cache."""

from cache.keys import SurrogateKeys
from cache.page_cache import CachedPage, PageCache
from cache.policy import CachePolicy

__all__ = ["CachePolicy", "CachedPage", "PageCache", "SurrogateKeys"]
