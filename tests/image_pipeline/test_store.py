"""The store: one copy per content hash, atomic writes, one producer per variant, nothing half-written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import image_pipeline.jobs as jobs_module
from image_pipeline.store import ImageStore, UnknownImage
from image_pipeline.variants import BadImage


def test_ingest_is_idempotent_by_content(photos: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    data = (photos / "chelsea.png").read_bytes()
    first, created = store.ingest(data)
    again, created_again = store.ingest(data)
    assert (created, created_again) == (True, False) and first == again
    assert sorted(p.name for p in store.originals.iterdir()) == [f"{first.hash}.json", f"{first.hash}.png"]
    assert store.record(first.hash) == first


def test_refused_uploads_leave_nothing_behind(photos: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    with pytest.raises(BadImage):
        store.ingest((photos / "rocket.jpg").read_bytes()[:5000])
    assert not store.originals.exists() or not any(store.originals.iterdir())


async def test_concurrent_requests_share_one_producer(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ImageStore(tmp_path)
    record, _ = store.ingest((photos / "rocket.jpg").read_bytes())
    calls = 0
    real = jobs_module.render_variant

    def counting(*args: object) -> bytes:
        nonlocal calls
        calls += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs_module, "render_variant", counting)
    paths = await asyncio.gather(*(store.variant(record.hash, 320, "avif") for _ in range(20)))
    assert calls == 1 and len(set(paths)) == 1 and paths[0].stat().st_size > 0
    assert not list(paths[0].parent.glob(".tmp-*"))


async def test_unknown_and_off_ladder_requests(photos: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    record, _ = store.ingest((photos / "rocket.jpg").read_bytes())  # 640 wide
    for digest, width, fmt in [
        ("0" * 64, 320, "jpg"),
        ("../../etc/passwd", 320, "jpg"),
        (record.hash, 333, "jpg"),
        (record.hash, 320, "gif"),
        (record.hash, 960, "jpg"),
    ]:
        with pytest.raises(UnknownImage):
            await store.variant(digest, width, fmt)


def test_build_makes_the_whole_ladder_once(photos: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    record, _ = store.ingest((photos / "hubble_deep_field.jpg").read_bytes())  # 1000 wide
    assert store.build(record.hash) > 0
    made = sorted(p.name for p in (store.variants / record.hash).iterdir())
    assert len(made) == 5 * 3  # 160..960 in three formats
    assert store.build(record.hash) == 0
