"""The pool of image worker processes: decodes and encodes run there, bounded in number and in memory each."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import resource
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

from image_pipeline import jobs
from image_pipeline.variants import BadImage

P = ParamSpec("P")
T = TypeVar("T")
_log = logging.getLogger(__name__)

# What the fork server imports once, so that every worker forked from it starts with Pillow loaded. A
# script's `__main__` would otherwise be re-imported by each worker (`python -m storefront` never is).
_PRELOAD = ["__main__", "image_pipeline.workers", "image_pipeline.jobs"]
# Threads one job may use in libavif/aom/dav1d. Pillow's default is every core; the pool's processes are
# the parallelism, and each thread adds its stack and buffers to the job's memory.
JOB_THREADS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter
MAX_WAITING = 64  # jobs waiting for a worker; past that, refuse (503) rather than hold their bodies


class WorkerDied(BadImage):
    """The worker process ended in the middle of the job: most likely the image's memory, or a codec crash."""


class ImagesBusy(RuntimeError):
    """No worker can take the job now (too many waiting, or the pool is stopped): try again shortly."""


def _memory_in_use() -> int:
    """This process's address space in bytes (what RLIMIT_AS counts), 0 where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _init_worker(job_memory_mb: int) -> None:
    """Runs in each new worker, before its one job."""
    # glibc reserves a 64 MB arena for each new thread: under an address-space limit, a codec with many
    # threads would be refused for reservations it never touches. Two arenas are plenty for one job.
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 2)
    with contextlib.suppress(ImportError):  # a Pillow without native AVIF uses the plugin's own threads
        from PIL import AvifImagePlugin

        AvifImagePlugin.DEFAULT_MAX_THREADS = JOB_THREADS
    # The ceiling is the job's own allowance on top of what the idle worker already maps (the interpreter,
    # Pillow and its codecs), so the setting means the same whatever the libraries weigh.
    limit = _memory_in_use() + job_memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    jobs.memory_ceiling_mb = job_memory_mb


def _context() -> multiprocessing.context.BaseContext:
    # Not fork: the origin has threads and an event loop. The fork server is started once from a clean
    # interpreter with Pillow preloaded, so a fresh worker per job costs a fork, not an interpreter start.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")  # pragma: no cover - platforms without forkserver


class ImageWorkers:
    """`workers` slots, each a one-process pool whose process runs one job and is replaced (so the memory
    a 40-megapixel decode took goes back to the system), each job under an address-space limit of
    `job_memory_mb` beyond the idle worker. One pool per slot: a worker that dies breaks only its own slot,
    never the jobs running beside it, and the slot is recreated before its next job."""

    def __init__(self, workers: int = 2, job_memory_mb: int = 768, *, max_waiting: int = MAX_WAITING) -> None:
        if workers < 1 or job_memory_mb < 1:
            raise ValueError("image workers and their memory must be at least 1")
        self.workers = workers
        self.job_memory_mb = job_memory_mb
        self.max_waiting = max_waiting
        self.counters: Counter[str] = Counter()
        self._slots: list[ProcessPoolExecutor] = []
        self._idle: asyncio.Queue[int] | None = None
        self._waiting = 0
        self._closing = False

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=_context(),
            initializer=_init_worker,
            initargs=(self.job_memory_mb,),
            max_tasks_per_child=1,
        )

    @property
    def running(self) -> bool:
        return self._idle is not None and not self._closing

    @property
    def waiting(self) -> int:
        """Jobs waiting for a free worker."""
        return self._waiting

    async def start(self) -> None:
        """Start the fork server and a first worker per slot now, off the event loop, not on the first upload."""
        if self._idle is not None:
            return
        self._closing = False
        self._slots = [self._pool() for _ in range(self.workers)]

        def warm() -> None:
            for future in [slot.submit(os.getpid) for slot in self._slots]:
                future.result()

        await asyncio.to_thread(warm)
        self._idle = asyncio.Queue()
        for index in range(self.workers):
            self._idle.put_nowait(index)

    async def close(self, grace: float = 10.0) -> None:
        """Let running jobs finish (up to `grace` seconds, then their workers are killed); refuse new ones."""
        if self._idle is None:
            return
        self._closing = True
        slots, idle, self._slots, self._idle = self._slots, self._idle, [], None
        if self._waiting:
            idle.put_nowait(-1)  # wakes the first waiter, which refuses its job and wakes the next

        def shut_down() -> None:
            for slot in slots:
                slot.shutdown(wait=True, cancel_futures=True)

        try:
            await asyncio.wait_for(asyncio.to_thread(shut_down), grace)
        except TimeoutError:
            for slot in slots:
                # ProcessPoolExecutor has no public way to stop a running job before Python 3.14.
                for process in list(getattr(slot, "_processes", {}).values()):
                    process.kill()

    async def __aenter__(self) -> ImageWorkers:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn(*args)` in a worker. Raises what the job raised (BadImage, ImageTooLarge), WorkerDied if
        its process ended, or ImagesBusy if no worker can take it."""
        idle = self._idle
        if idle is None or self._closing:
            raise ImagesBusy("the image workers are not running")
        if self._waiting >= self.max_waiting:
            self.counters["refused"] += 1
            raise ImagesBusy(f"{self._waiting} image jobs are already waiting for a worker")
        self._waiting += 1
        try:
            index = await idle.get()
        finally:
            self._waiting -= 1
        if self._closing:
            idle.put_nowait(index)  # wake the next waiter, which will be refused too
            raise ImagesBusy("the image workers are stopping")
        loop = asyncio.get_running_loop()
        try:
            future = self._slots[index].submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            self._replace(index)
            idle.put_nowait(index)
            raise WorkerDied("the image worker could not be started") from None
        # The slot is given back when the job ends, not when this caller stops waiting: a cancelled caller
        # must not let a second job start beside one that is still decoding.
        future.add_done_callback(lambda done: self._release_soon(loop, idle, index, done))
        self.counters["jobs"] += 1
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self.counters["died"] += 1
            raise WorkerDied(
                f"the image worker stopped while working on it (most likely over the {self.job_memory_mb} MB "
                "an image job may use)"
            ) from None
        except jobs.ImageTooLarge:
            self.counters["too_large"] += 1
            raise

    def _release_soon(
        self, loop: asyncio.AbstractEventLoop, idle: asyncio.Queue[int], index: int, done: Future[Any]
    ) -> None:
        """Called in the pool's thread when a job ends: the slot is given back on the event loop."""
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is left to wait
            loop.call_soon_threadsafe(self._release, idle, index, done)

    def _release(self, idle: asyncio.Queue[int], index: int, done: Future[Any]) -> None:
        if idle is not self._idle:
            return  # the pool was closed meanwhile
        if not done.cancelled() and isinstance(done.exception(), BrokenProcessPool):
            _log.warning("an image worker died; starting a new one")
            self._replace(index)
        idle.put_nowait(index)

    def _replace(self, index: int) -> None:
        broken, self._slots[index] = self._slots[index], self._pool()
        broken.shutdown(wait=False, cancel_futures=True)


__all__ = ["ImageWorkers", "ImagesBusy", "WorkerDied"]
