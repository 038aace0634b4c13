"""`storefront images ingest DIR` and `storefront images build`: bulk work with a progress bar."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from image_pipeline.store import EAGER_WIDTHS, ImageStore
from image_pipeline.variants import FORMATS, LADDER, BadImage

_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".avif", ".tif", ".tiff", ".gif"}


def _progress(done: int, total: int, label: str, out: TextIO) -> None:
    width = 30
    filled = round(width * done / total) if total else width
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:40]:<40}")
    out.flush()


def ingest_dir(store: ImageStore, directory: Path, *, eager: bool = True, out: TextIO = sys.stderr) -> int:
    files = sorted(p for p in directory.rglob("*") if p.suffix.lower() in _EXTENSIONS and p.is_file())
    started, added, refused = time.perf_counter(), 0, []
    for index, path in enumerate(files, 1):
        _progress(index, len(files), path.name, out)
        try:
            record, created = store.ingest(path.read_bytes())
        except BadImage as exc:
            refused.append(f"{path}: {exc}")
            continue
        added += created
        if eager:
            try:
                store.build(record.hash, EAGER_WIDTHS)
            except BadImage as exc:  # stored, but its variants are refused: say so, and go on
                refused.append(f"{path}: variants: {exc}")
    out.write("\n")
    for line in refused:
        out.write(f"refused {line}\n")
    print(
        f"{len(files)} files: {added} new, {len(files) - added - len(refused)} already stored, "
        f"{len(refused)} refused, in {time.perf_counter() - started:.1f}s"
    )
    return 1 if refused else 0


def build_all(
    store: ImageStore,
    *,
    widths: Sequence[int] = LADDER,
    formats: Iterable[str] = tuple(FORMATS),
    out: TextIO = sys.stderr,
) -> int:
    digests = list(store.hashes())
    formats = tuple(formats)
    started, written, refused = time.perf_counter(), 0, []
    before = sum(1 for _ in store.variants.rglob("*.*")) if store.variants.exists() else 0
    for index, digest in enumerate(digests, 1):
        _progress(index, len(digests), digest[:12], out)
        try:
            written += store.build(digest, tuple(widths), formats)
        except BadImage as exc:  # one original the encoders refuse must not stop the others
            refused.append(f"{digest}: {exc}")
    out.write("\n")
    for line in refused:
        out.write(f"refused {line}\n")
    after = sum(1 for _ in store.variants.rglob("*.*")) if store.variants.exists() else 0
    print(
        f"{len(digests)} originals: {after - before} variants made ({written / 1e6:.1f} MB), "
        f"{after} in all, {len(refused)} originals refused, in {time.perf_counter() - started:.1f}s"
    )
    return 1 if refused else 0
