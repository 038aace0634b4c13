"""The image jobs a worker process runs (check and store an upload, make variants): paths in, small results out."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from image_pipeline.ingest import ImageRecord, inspect
from image_pipeline.variants import BadImage, Encoding, render_ladder, render_variant

# Every Pillow plugin is imported here, once: in the fork server this module is preloaded into, so each
# worker forked from it starts with WebP, AVIF and TIFF loaded instead of importing them for its one job.
Image.init()

# Set by the worker's initializer (image_pipeline.workers), so a refusal can say what the ceiling is.
memory_ceiling_mb: int | None = None


class ImageTooLarge(BadImage):
    """Decoding or encoding the image needed more memory than one image job may use."""


@contextmanager
def memory_ceiling(what: str) -> Iterator[None]:
    """A MemoryError under the worker's address-space limit is the image's size, not a bug: say so."""
    try:
        yield
    except MemoryError:
        limit = f"the {memory_ceiling_mb} MB" if memory_ceiling_mb else "the memory"
        raise ImageTooLarge(f"{what} needs more than {limit} an image job may use") from None


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


def store_original(originals: Path, record: ImageRecord, data: bytes | Path) -> bool:
    """Write an inspected original and then its sidecar; False when it was already stored.

    `data` may be a file in `originals` (an upload), which is renamed into place rather than copied."""
    sidecar = originals / f"{record.hash}.json"
    if sidecar.exists():
        return False
    target = originals / f"{record.hash}.{record.format}"
    if isinstance(data, Path):
        os.replace(data, target)
    else:
        write_atomically(target, data)
    # The sidecar goes last: an original without one was never ingested, and a retry completes it.
    write_atomically(sidecar, json.dumps(record.as_dict()).encode())
    return True


def ingest_file(incoming: Path, originals: Path) -> tuple[ImageRecord, bool]:
    """Check an uploaded file and store it by its hash; returns its record and whether it was new."""
    with memory_ceiling("decoding this image"):
        record = inspect(incoming.read_bytes())
    return record, store_original(originals, record, incoming)


def write_variant(original: Path, target: Path, width: int, fmt: str, encoding: Encoding) -> int:
    """Make one variant and write it; returns its size in bytes."""
    with memory_ceiling(f"making its {width}-pixel {fmt} variant"):
        data = render_variant(original.read_bytes(), width, fmt, encoding)
    write_atomically(target, data)
    return len(data)


def write_ladder(
    original: Path, directory: Path, widths: tuple[int, ...], formats: tuple[str, ...], encoding: Encoding
) -> int:
    """Make many variants from one decode and write the ones still missing; returns the bytes written."""
    with memory_ceiling("making its variants"):
        made = render_ladder(original.read_bytes(), widths, formats, encoding)
    written = 0
    for (width, fmt), data in made.items():
        target = directory / f"{width}.{fmt}"
        if not target.exists():
            write_atomically(target, data)
            written += len(data)
    return written
