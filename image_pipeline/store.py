"""Originals by SHA-256 and their variants on disk, produced once (single flight) and written atomically."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path

from image_pipeline.variants import FORMATS, LADDER, render_variant

_HASH = re.compile(r"^[0-9a-f]{64}$")


class UnknownImage(LookupError):
    pass


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.originals = root / "originals"
        self.variants = root / "variants"
        self._inflight: dict[tuple[str, int, str], asyncio.Future[Path]] = {}

    def original(self, digest: str) -> Path:
        if not _HASH.match(digest):
            raise UnknownImage(digest)
        matches = list(self.originals.glob(f"{digest}.*"))
        if not matches:
            raise UnknownImage(digest)
        return matches[0]

    async def variant(self, digest: str, width: int, fmt: str) -> Path:
        """The variant's file, producing it first if needed; concurrent callers share one producer."""
        if width not in LADDER or fmt not in FORMATS:
            raise UnknownImage(f"{digest}/{width}.{fmt}")
        target = self.variants / digest / f"{width}.{fmt}"
        if target.exists():
            return target
        original = self.original(digest)
        key = (digest, width, fmt)
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            await asyncio.to_thread(self._produce, original, target, width, fmt)
            future.set_result(target)
            return target
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._inflight[key]

    @staticmethod
    def _produce(original: Path, target: Path, width: int, fmt: str) -> None:
        data = render_variant(original.read_bytes(), width, fmt)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)  # readers see the whole file or none of it
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
