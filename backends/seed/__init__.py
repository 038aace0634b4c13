"""Seeds every backend's database with the deterministic demo shop."""

from backends.seed.runner import SeedReport, seed_all

__all__ = ["SeedReport", "seed_all"]
