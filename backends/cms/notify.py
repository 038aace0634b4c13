"""After a publish commits, a signed webhook tells the invalidator to read the CMS outbox now.

The webhook carries no purge of its own: the outbox is the durable record, so a lost webhook only
means the change is purged on the next poll, and a forged one can at most cause an extra poll.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
from litestar.datastructures import State

from backends.common.webhooks import sign

_log = logging.getLogger(__name__)


def notify(state: State, entry_id: int) -> None:
    settings = state.settings
    if not settings.webhook_url:
        return
    body = json.dumps({"source": "cms", "entry_id": entry_id}).encode()
    headers = {"Content-Type": "application/json", "X-Signature": sign(settings.webhook_secret, body)}
    task = asyncio.create_task(_post(state, settings.webhook_url, body, headers))
    state.webhook_tasks.add(task)
    task.add_done_callback(state.webhook_tasks.discard)


async def _post(state: State, url: str, body: bytes, headers: dict[str, Any]) -> None:
    try:
        await state.http.post(url, content=body, headers=headers, timeout=2.0)
    except httpx.HTTPError as exc:
        _log.info("publish webhook to %s failed (%s); the outbox poll will catch up", url, type(exc).__name__)
