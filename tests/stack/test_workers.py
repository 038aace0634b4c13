"""Several worker processes per service: `storefront serve` starts them, a dead one comes back, and on
PostgreSQL a long poll served by one worker wakes on a write served by another."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest

from edge_config.ports import free_port
from stack.settings import Settings
from tests.conftest import ADMIN

WITHIN = 60.0  # a bound on waiting for something that should happen, not a speed requirement


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = os.environ.copy() | {
        "STOREFRONT_DATA_DIR": str(settings.data_dir),
        "STOREFRONT_ADMIN_TOKEN": "test-admin",
        "STOREFRONT_EDITOR_TOKEN": "test-editor",
        "STOREFRONT_PREVIEW_TOKEN": "test-preview",
    }
    if settings.pricing.database_url.startswith("postgresql"):
        env["STOREFRONT_DATABASE_URL"] = settings.pricing.database_url
    return env | extra


def _serve(name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "storefront", "serve", name], env=env, start_new_session=True, stderr=subprocess.PIPE
    )


def _workers(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """uvicorn's live worker processes under `process` (not multiprocessing's resource tracker, nor a dead
    worker its parent has not reaped yet)."""
    workers = []
    for child in psutil.Process(process.pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(child.cmdline()):
                workers.append(child)
        except psutil.Error:  # gone meanwhile
            continue
    return workers


def _wait_until(check: object, what: str) -> None:
    deadline = time.monotonic() + WITHIN
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def two_workers(seeded: Settings) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Pricing served by two workers on one port."""
    url = f"http://127.0.0.1:{free_port()}"
    process = _serve("pricing", _env(seeded, STOREFRONT_PRICING_URL=url, STOREFRONT_PRICING_WORKERS="2"))
    try:
        _wait_until(lambda: _answers(url) and len(_workers(process)) == 2, "two pricing workers answering")
        yield url, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_long_poll_wakes_on_a_write_served_by_another_worker(
    two_workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, _ = two_workers
    with httpx.Client(base_url=url, headers=ADMIN, timeout=60) as client:
        last = client.get("/admin/outbox", params={"after": 0, "limit": 500}).json()["last_seq"]
        with ThreadPoolExecutor(4) as pool:
            # Several long polls at once, so both workers hold some: whichever worker takes the write, one of
            # the others' polls is woken only by the NOTIFY (the in-process recheck is 5 s, the polls wait 30).
            polls = [pool.submit(client.get, "/admin/outbox", params={"after": last, "wait": 30}) for _ in range(4)]
            assert client.put("/admin/prices/eu/SKU-00004-1", json={"list": "77.70"}).json()["changed"] is True
            started = time.monotonic()
            answers = [poll.result(timeout=WITHIN).json() for poll in polls]
            waited = time.monotonic() - started
    assert all([e["type"] for e in a["events"]] == ["price.changed"] for a in answers)
    assert waited < 25  # woken by the commit, not by running out the 30 s wait (not a speed bound)


def test_a_worker_that_dies_is_replaced_and_the_service_keeps_answering(
    two_workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = two_workers
    victim = _workers(process)[0]
    victim.kill()
    _wait_until(
        lambda: victim.pid not in {w.pid for w in _workers(process)} and len(_workers(process)) == 2,
        "a replacement worker",
    )
    _wait_until(lambda: _answers(url), "pricing answering after the replacement")


def test_several_origin_workers_are_refused_while_each_would_keep_its_own_page_cache(settings: Settings) -> None:
    env = _env(settings, STOREFRONT_ORIGIN_URL=f"http://127.0.0.1:{free_port()}", STOREFRONT_ORIGIN_WORKERS="2")
    process = _serve("origin", env)
    _, stderr = process.communicate(timeout=WITHIN)
    assert process.returncode != 0
    assert b"STOREFRONT_PAGE_CACHE=off" in stderr


def test_each_worker_logs_through_the_one_json_handler(seeded: Settings) -> None:
    """Granian's workers build their apps in processes of their own: each takes its logging over there, so every
    line (granian's own included) is one JSON object and each request is logged once, not once per handler."""
    url = f"http://127.0.0.1:{free_port()}"
    env = _env(seeded, STOREFRONT_PRICING_URL=url, STOREFRONT_PRICING_WORKERS="2", STOREFRONT_LOG_FORMAT="json")
    process = _serve("pricing", env | {"STOREFRONT_LOG_LEVEL": "info"})
    try:
        _wait_until(lambda: _answers(url) and len(_workers(process)) == 2, "two pricing workers answering")
        with httpx.Client(base_url=url, timeout=WITHIN) as client:
            assert [client.get("/no-such-route").status_code for _ in range(6)] == [404] * 6
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=WITHIN)
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]  # each one JSON
    assert {line["service"] for line in lines} == {"pricing"}
    assert any(line["logger"].startswith("_granian") for line in lines)
    requests = [line for line in lines if line["logger"] == "storefront.requests" and line["status"] == 404]
    assert len(requests) == 6
