"""One producer per key: concurrent callers for the same key share its result, or its error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _ProducerCancelled(Exception):
    """The caller producing the value was cancelled (its own timeout, say); that is not the waiters' error."""


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Future[V]] = {}

    def __contains__(self, key: K) -> bool:
        return key in self._inflight

    def pending(self, key: K) -> asyncio.Future[V] | None:
        return self._inflight.get(key)

    async def run(self, key: K, produce: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """(result, True) for the caller that produced it; (result, False) for those that waited.

        If the producing caller is cancelled, a waiter takes over and produces the value itself.
        """
        while (pending := self._inflight.get(key)) is not None:
            try:
                return await asyncio.shield(pending), False
            except _ProducerCancelled:
                continue
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await produce()
        except BaseException as exc:
            future.set_exception(_ProducerCancelled() if isinstance(exc, asyncio.CancelledError) else exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        else:
            future.set_result(result)
            return result, True
        finally:
            del self._inflight[key]
