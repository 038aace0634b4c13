"""Parallel page loading: each read has a budget, reports Server-Timing, and adds surrogate keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cache.keys import SurrogateKeys
from storefront.shedding import waiting_on_upstreams


class UpstreamError(Exception):
    """An upstream read failed: unreachable, too slow, or an unexpected answer."""

    def __init__(self, upstream: str, reason: str, *, not_found: bool = False, refused: bool = False) -> None:
        super().__init__(f"{upstream}: {reason}")
        self.upstream = upstream
        self.not_found = not_found
        self.refused = refused  # the upstream answered 4xx: the request was wrong, the upstream is fine


@dataclass
class PageLoad:
    """What one page read: its surrogate keys, its timings, when its data next changes, and which optional
    reads it had to do without (or took from a last-good copy), which makes the page degraded."""

    keys: SurrogateKeys
    timings: list[tuple[str, float, str]] = field(default_factory=list)
    next_changes: list[datetime] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)

    def degrade(self, name: str) -> None:
        if name not in self.degraded:
            self.degraded.append(name)

    def timed(self, name: str, started: float, note: str = "") -> None:
        self.timings.append((name, (time.perf_counter() - started) * 1000, note))

    def changes_at(self, iso: str | None) -> None:
        if iso:
            self.next_changes.append(datetime.fromisoformat(iso))

    @property
    def next_change(self) -> datetime | None:
        return min(self.next_changes, default=None)

    def server_timing(self) -> str:
        parts = []
        for name, ms, note in self.timings:
            desc = f';desc="{note}"' if note else ""
            parts.append(f"{name};dur={ms:.1f}{desc}")
        return ", ".join(parts)

    async def read(self, name: str, budget: float, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """One upstream read within `budget` seconds, timed whether it succeeds or not."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(budget):
                result = await fetch()
        except TimeoutError:
            self.timed(name, started, "timeout")
            raise UpstreamError(name, f"no answer within {budget:.3f}s") from None
        except UpstreamError as exc:
            self.timed(name, started, "not-found" if exc.not_found else "error")
            raise
        self.timed(name, started)
        return result

    async def gather(self, critical: dict[str, Awaitable[Any]], optional: dict[str, Awaitable[Any]]) -> dict[str, Any]:
        """Run every load at once. Optional failures give None (and degrade the page); a critical failure
        cancels the rest and raises."""

        async def tolerant(name: str, load: Awaitable[Any]) -> Any:
            try:
                return await load
            except Exception:
                self.degrade(name)
                return None

        try:
            async with waiting_on_upstreams(), asyncio.TaskGroup() as group:
                tasks = {name: group.create_task(_awaited(load)) for name, load in critical.items()}
                tasks |= {name: group.create_task(tolerant(name, load)) for name, load in optional.items()}
        except* UpstreamError as failures:
            raise failures.exceptions[0] from None
        return {name: task.result() for name, task in tasks.items()}


async def _awaited(load: Awaitable[Any]) -> Any:
    return await load
