"""Several invalidator processes: only the leader delivers, and a purge any of them records reaches it at once."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from cache.invalidation.service import create_app
from stack.settings import Settings
from tests.asgi import client_for, running
from tests.conftest import ADMIN
from tests.edge_config.conftest import Recorder, recorder  # noqa: F401 - the fixture

DELIVERY_DEADLINE = 30.0  # seconds: generous for a loaded machine, far below the purge recheck below


class _Edge:
    """Answers purges as an edge would and signals each key it receives."""

    def __init__(self) -> None:
        self.received: defaultdict[str, threading.Event] = defaultdict(threading.Event)

    def __call__(self, request: dict) -> tuple[int, dict[str, str], bytes]:
        for key in json.loads(request["body"] or b"{}").get("keys", []):
            self.received[key].set()
        return 200, {"Content-Type": "application/json"}, b'{"purged": 1}'

    async def delivered(self, key: str) -> None:
        arrived = await asyncio.to_thread(self.received[f"{key}@us"].wait, DELIVERY_DEADLINE)
        assert arrived, f"{key} was not delivered within {DELIVERY_DEADLINE} s"


async def _purge(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post("/admin/purges", json={"keys": [key], "regions": ["us"]}, headers=ADMIN)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("log", ["postgresql", "redis"])
async def test_a_purge_recorded_by_a_follower_is_delivered_by_the_leader_without_waiting_for_its_recheck(
    log: str,
    postgres_url: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    recorder: Callable[..., Recorder],  # noqa: F811
) -> None:
    purges = _Edge()
    edge = recorder(purges)
    env = {"STOREFRONT_DATA_DIR": str(tmp_path), "STOREFRONT_ADMIN_TOKEN": "test-admin"}
    env |= {"STOREFRONT_INVALIDATOR_DATABASE_URL": postgres_url, "STOREFRONT_ORIGIN_URL": edge.url}
    env |= {"STOREFRONT_PURGE_RECHECK": "3600"}  # a purger that is not woken sleeps past the test's deadline
    if log == "redis":
        env["STOREFRONT_REDIS_URL"] = request.getfixturevalue("redis_url")
    settings = dataclasses.replace(Settings.from_env(env).invalidator, outboxes={})
    first, second = create_app(settings), create_app(settings)

    async with running(first), client_for(first) as to_first:
        await _purge(to_first, "before-the-second")
        await purges.delivered("before-the-second")  # only a leader delivers: the first process leads
        async with running(second), client_for(second) as to_second:
            await _purge(to_second, "through-the-follower")
            await purges.delivered("through-the-follower")
            await _purge(to_first, "through-the-leader")
            await purges.delivered("through-the-leader")

    keys = [key for request in edge.requests for key in json.loads(request["body"]).get("keys", [])]
    assert sorted(keys) == ["before-the-second@us", "through-the-follower@us", "through-the-leader@us"]  # once each
