"""Commit signals: a session that added outbox events wakes this process's outbox readers when it commits."""

from __future__ import annotations

import asyncio
from typing import Any

_ADDED = "outbox_events_added"  # set in a session's `info` when it stages an event; read when it commits


def note_outbox_events(session: Any) -> None:
    """Remember that this session's transaction adds outbox events (an `AsyncSession` or a sync one)."""
    session.info[_ADDED] = True


class OutboxSignal:
    """Fired after a commit that added outbox events; readers wait on it between looks at the table."""

    def __init__(self) -> None:
        self._next = asyncio.Event()

    def mark(self) -> asyncio.Event:
        """Take this before reading the table: a commit after it (even before the wait starts) wakes the wait."""
        return self._next

    def fire(self) -> None:
        self._next.set()
        self._next = asyncio.Event()

    def after_commit(self, session: Any) -> None:
        """SQLAlchemy `after_commit` listener: fire when the committed transaction added events."""
        if session.info.pop(_ADDED, False):
            self.fire()

    @staticmethod
    def after_rollback(session: Any) -> None:
        session.info.pop(_ADDED, None)
