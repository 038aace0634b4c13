"""The invalidator's schema for migrations: the purge log's tables and where their revisions live."""

from pathlib import Path

from backends.common.migrations import Schema
from cache.invalidation.log import PurgeBase

SCHEMA = Schema(name="invalidator", metadata=PurgeBase.metadata, directory=Path(__file__).parent, prefixes=("purge_",))
