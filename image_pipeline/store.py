"""Originals by SHA-256 with a metadata sidecar, and their variants on disk; every write is atomic."""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cachetools import LRUCache

from cache.single_flight import SingleFlight
from image_pipeline.ingest import ImageRecord, inspect
from image_pipeline.variants import (
    DEFAULT_ENCODING,
    FORMATS,
    LADDER,
    BadImage,
    Encoding,
    ladder_for,
    render_ladder,
    render_variant,
)

_HASH = re.compile(r"^[0-9a-f]{64}$")
EAGER_WIDTHS = (320, 640, 960)


class UnknownImage(LookupError):
    pass


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the whole file or none of it; a crash leaves at most a stray `.tmp-` file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ImageStore:
    def __init__(self, root: Path, encoding: Encoding = DEFAULT_ENCODING) -> None:
        self.encoding = encoding
        self.originals = root / "originals"
        self.variants = root / "variants"
        self._meta: LRUCache[str, ImageRecord] = LRUCache(maxsize=8192)
        self._producers: SingleFlight[tuple[str, int, str], Path] = SingleFlight()

    def ingest(self, data: bytes) -> tuple[ImageRecord, bool]:
        """Store an original once; returns its record and whether it was new. Raises BadImage."""
        record = inspect(data)
        if self.record(record.hash) is not None:
            return record, False
        write_atomically(self.originals / f"{record.hash}.{record.format}", data)
        # The sidecar goes last: an original without one was never ingested, and a retry completes it.
        write_atomically(self.originals / f"{record.hash}.json", json.dumps(record.as_dict()).encode())
        return record, True

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
            data = await asyncio.to_thread(render_variant, original.read_bytes(), width, fmt, self.encoding)
            await asyncio.to_thread(write_atomically, target, data)
            return target

        path, _ = await self._producers.run((digest, width, fmt), produce)
        return path

    def build(self, digest: str, widths: tuple[int, ...] = LADDER, formats: tuple[str, ...] = tuple(FORMATS)) -> int:
        """Write every missing variant of one original from a single decode; returns bytes written."""
        record, original = self._original(digest)
        missing_widths = tuple(
            w
            for w in ladder_for(record.width, widths)
            if any(not self.variant_path(digest, w, f).exists() for f in formats)
        )
        if not missing_widths:
            return 0
        written = 0
        for (width, fmt), data in render_ladder(original.read_bytes(), missing_widths, formats, self.encoding).items():
            target = self.variant_path(digest, width, fmt)
            if not target.exists():
                write_atomically(target, data)
                written += len(data)
        return written

    def hashes(self) -> Iterator[str]:
        for sidecar in sorted(self.originals.glob("*.json")):
            if _HASH.match(sidecar.stem):
                yield sidecar.stem


__all__ = ["EAGER_WIDTHS", "BadImage", "ImageStore", "UnknownImage", "write_atomically"]
