"""The worker pool: the memory ceiling refuses a job cleanly, a dying worker is replaced, waiting is bounded."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from image_pipeline.jobs import ImageTooLarge
from image_pipeline.store import ImageStore
from image_pipeline.variants import BadImage
from image_pipeline.workers import ImagesBusy, ImageWorkers, WorkerDied
from tests.image_pipeline.conftest import flat_png

# Enough for a small image and its variants, not for the 144 MB of pixels of a 36-megapixel one.
SMALL_CEILING_MB = 96


def die() -> None:
    """A job whose process is killed, as the kernel or a crashing codec would."""
    os.kill(os.getpid(), signal.SIGKILL)


def wait_for(path: str) -> str:
    """A job that holds its worker until the test creates `path`."""
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.01)
    return "released"


async def test_a_job_over_the_memory_ceiling_is_refused_and_the_pool_goes_on(tmp_path: Path) -> None:
    async with ImageWorkers(1, SMALL_CEILING_MB) as workers:
        store = ImageStore(tmp_path, workers=workers)
        with pytest.raises(ImageTooLarge, match=f"more than the {SMALL_CEILING_MB} MB an image job may use"):
            await store.add(flat_png(6000, 6000))
        assert workers.counters["too_large"] == 1
        assert not any(store.originals.iterdir())  # refused: neither the original nor the upload's temp file

        record, created = await store.add(flat_png(800, 600))  # the same slot, a fresh worker
        assert created and (record.width, record.height) == (800, 600)
        for fmt in ("avif", "webp", "jpg"):
            with Image.open(await store.variant(record.hash, 320, fmt)) as variant:
                assert variant.size == (320, 240)


async def test_a_worker_that_dies_fails_only_its_job_and_is_replaced(tmp_path: Path) -> None:
    async with ImageWorkers(2, 256) as workers:
        gate = tmp_path / "gate"
        beside = asyncio.create_task(workers.run(wait_for, str(gate)))
        with pytest.raises(WorkerDied, match="stopped while working"):
            await workers.run(die)
        gate.touch()
        assert await beside == "released"  # the job in the other slot never noticed
        pids = [await workers.run(os.getpid) for _ in range(4)]
        assert len(set(pids)) == 4 and os.getpid() not in pids  # a new process for every job
        assert workers.counters["died"] == 1


async def test_jobs_past_the_waiting_bound_are_refused(tmp_path: Path) -> None:
    async with ImageWorkers(1, 256, max_waiting=1) as workers:
        gate = tmp_path / "gate"
        running = asyncio.create_task(workers.run(wait_for, str(gate)))
        queued = asyncio.create_task(workers.run(os.getpid))
        await asyncio.sleep(0)  # one turn of the loop: the first takes the worker, the second queues for it
        assert workers.waiting == 1
        with pytest.raises(ImagesBusy, match="already waiting"):
            await workers.run(os.getpid)
        gate.touch()
        assert await running == "released" and await queued > 0


async def test_a_stopped_pool_refuses_jobs() -> None:
    workers = ImageWorkers(1, 256)
    with pytest.raises(ImagesBusy, match="not running"):
        await workers.run(os.getpid)
    await workers.start()
    assert await workers.run(os.getpid) != os.getpid()
    await workers.close()
    with pytest.raises(ImagesBusy):
        await workers.run(os.getpid)


async def test_refusals_cross_the_process_boundary_intact(tmp_path: Path) -> None:
    async with ImageWorkers(1, 768) as workers:
        store = ImageStore(tmp_path, workers=workers)
        with pytest.raises(BadImage, match="more than 40 million pixels"):
            await store.add(flat_png(8000, 5001, mode="1"))
        with pytest.raises(BadImage, match="truncated or corrupt"):
            await store.add(flat_png(2000, 1000)[:-40])
        with pytest.raises(BadImage, match="WebP's limit"):
            await store.add(flat_png(1, 60000))


def test_settings_size_the_pool() -> None:
    from stack.settings import Settings

    origin = Settings.from_env({"STOREFRONT_IMAGE_WORKERS": "3", "STOREFRONT_IMAGE_JOB_MEMORY_MB": "512"}).origin
    assert (origin.image_workers, origin.image_job_memory_mb) == (3, 512)
    assert (Settings.from_env({}).origin.image_workers, Settings.from_env({}).origin.image_job_memory_mb) == (2, 768)
