"""Surrogate keys, the cache header policy, local and Redis caches, the purge log and purgers."""
