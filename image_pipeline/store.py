"""Originals by SHA-256 with a metadata sidecar, and their variants on disk; every write is atomic."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

from cachetools import LRUCache

from cache.single_flight import SingleFlight
from image_pipeline.ingest import ImageRecord, inspect
from image_pipeline.jobs import ingest_file, store_original, write_atomically, write_ladder, write_variant
from image_pipeline.variants import DEFAULT_ENCODING, FORMATS, LADDER, BadImage, Encoding, ladder_for
from image_pipeline.workers import ImagesBusy, ImageWorkers

P = ParamSpec("P")
T = TypeVar("T")
_log = logging.getLogger(__name__)
_HASH = re.compile(r"^[0-9a-f]{64}$")
EAGER_WIDTHS = (320, 640, 960)


class UnknownImage(LookupError):
    pass


class ImageStore:
    """The synchronous methods decode in the calling process (the CLI, the seed); the async ones, which the
    origin uses, run every decode and encode in `workers` when given (in a thread otherwise, for tests)."""

    def __init__(self, root: Path, encoding: Encoding = DEFAULT_ENCODING, workers: ImageWorkers | None = None) -> None:
        self.encoding = encoding
        self.workers = workers
        self.originals = root / "originals"
        self.variants = root / "variants"
        self._meta: LRUCache[str, ImageRecord] = LRUCache(maxsize=8192)
        self._producers: SingleFlight[tuple[str, int, str], Path] = SingleFlight()
        self._uploads: SingleFlight[str, tuple[ImageRecord, bool]] = SingleFlight()
        # (format, seconds) per variant made on request: the origin's metrics set it.
        self.on_variant_built: Callable[[str, float], None] | None = None

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self.workers is None:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return await self.workers.run(fn, *args, **kwargs)

    def ingest(self, data: bytes) -> tuple[ImageRecord, bool]:
        """Store an original once, decoding here; returns its record and whether it was new. Raises BadImage."""
        record = inspect(data)
        if self.record(record.hash) is not None:
            return record, False
        return record, store_original(self.originals, record, data)

    async def add(self, data: bytes) -> tuple[ImageRecord, bool]:
        """`ingest` for the origin: the bytes go to a worker through a file, so only a path crosses processes.
        Raises BadImage (ImageTooLarge, WorkerDied) for a refusal, ImagesBusy when no worker can take it."""
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        known = self.record(digest)
        if known is not None:  # checked when it was stored: no decode for a repeat
            return known, False

        async def produce() -> tuple[ImageRecord, bool]:
            incoming = await asyncio.to_thread(self._incoming, data)
            try:
                return await self._run(ingest_file, incoming, self.originals)
            finally:
                incoming.unlink(missing_ok=True)  # refused, or stored by someone else meanwhile

        # Identical uploads at the same moment share one decode; only the one that stored it says "new".
        (record, created), produced = await self._uploads.run(digest, produce)
        return record, created and produced

    def _incoming(self, data: bytes) -> Path:
        # In the originals folder, so storing it is a rename; the `.tmp-` prefix marks it as not stored yet.
        self.originals.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.originals, prefix=".tmp-upload-")
        with open(fd, "wb") as handle:
            handle.write(data)
        return Path(name)

    def record(self, digest: str) -> ImageRecord | None:
        if not _HASH.match(digest):
            return None
        cached = self._meta.get(digest)
        if cached is not None:
            return cached
        try:
            record = ImageRecord(**json.loads((self.originals / f"{digest}.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None
        self._meta[digest] = record
        return record

    def stored_at(self, digest: str) -> float:
        """When the original was stored (its sidecar's mtime): earlier than any request for its variants."""
        return (self.originals / f"{digest}.json").stat().st_mtime

    def _original(self, digest: str) -> tuple[ImageRecord, Path]:
        record = self.record(digest)
        if record is None:
            raise UnknownImage(digest)
        return record, self.originals / f"{digest}.{record.format}"

    def variant_path(self, digest: str, width: int, fmt: str) -> Path:
        return self.variants / digest / f"{width}.{fmt}"

    async def variant(self, digest: str, width: int, fmt: str) -> Path:
        """The variant's file, made first if needed; concurrent callers share one producer."""
        if width not in LADDER or fmt not in FORMATS:
            raise UnknownImage(f"{digest}/{width}.{fmt}")
        record, original = self._original(digest)
        if width not in ladder_for(record.width):
            raise UnknownImage("wider than the original")
        target = self.variant_path(digest, width, fmt)
        if target.exists():
            return target

        async def produce() -> Path:
            started = time.perf_counter()
            await self._run(write_variant, original, target, width, fmt, self.encoding)
            if self.on_variant_built is not None:
                self.on_variant_built(fmt, time.perf_counter() - started)
            return target

        path, _ = await self._producers.run((digest, width, fmt), produce)
        return path

    def _missing(self, digest: str, widths: tuple[int, ...], formats: tuple[str, ...]) -> tuple[Path, tuple[int, ...]]:
        record, original = self._original(digest)
        missing_widths = tuple(
            w
            for w in ladder_for(record.width, widths)
            if any(not self.variant_path(digest, w, f).exists() for f in formats)
        )
        return original, missing_widths

    def build(self, digest: str, widths: tuple[int, ...] = LADDER, formats: tuple[str, ...] = tuple(FORMATS)) -> int:
        """Write every missing variant of one original from a single decode, here; returns bytes written."""
        original, missing = self._missing(digest, widths, formats)
        if not missing:
            return 0
        return write_ladder(original, self.variants / digest, missing, formats, self.encoding)

    async def build_async(
        self, digest: str, widths: tuple[int, ...] = LADDER, formats: tuple[str, ...] = tuple(FORMATS)
    ) -> int:
        """`build` in a worker."""
        original, missing = self._missing(digest, widths, formats)
        if not missing:
            return 0
        return await self._run(write_ladder, original, self.variants / digest, missing, formats, self.encoding)

    async def build_eagerly(self, digest: str, widths: tuple[int, ...] = EAGER_WIDTHS) -> None:
        """The build after an upload, once the answer is sent: nobody awaits it, so a failure is logged here
        (the variants are then made on first request, or refused there with a 404)."""
        try:
            await self.build_async(digest, widths)
        except (BadImage, ImagesBusy) as exc:  # refused or no worker free: the reason is the whole story
            _log.warning("eager variant build of image %s failed: %s", digest, exc)
        except Exception:
            _log.exception("eager variant build of image %s failed", digest)

    def hashes(self) -> Iterator[str]:
        for sidecar in sorted(self.originals.glob("*.json")):
            if _HASH.match(sidecar.stem):
                yield sidecar.stem


__all__ = ["EAGER_WIDTHS", "BadImage", "ImageStore", "UnknownImage", "write_atomically"]
