"""Plumbing every backend shares: database, outbox, problem details, auth, the service app factory."""

from backends.common.app import create_service_app
from backends.common.auth import require_token
from backends.common.db import Database, UTCDateTime, utcnow
from backends.common.outbox import OutboxEventMixin, add_event
from backends.common.problems import invalid

__all__ = [
    "Database",
    "OutboxEventMixin",
    "UTCDateTime",
    "add_event",
    "create_service_app",
    "invalid",
    "require_token",
    "utcnow",
]
