"""Variants made on request reach the origin's metrics: one observation per variant built, by format."""

from __future__ import annotations

import asyncio
from pathlib import Path

from litestar import Litestar
from prometheus_client import generate_latest

from backends.common.metrics import install_metrics
from image_pipeline.store import ImageStore
from storefront.metrics import OriginMetrics
from tests.prometheus import parse, value


async def test_each_variant_built_is_timed_once_by_format(photos: Path, tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    metrics = OriginMetrics(install_metrics(Litestar()))
    store.on_variant_built = metrics.variant_built
    record, _ = store.ingest((photos / "rocket.jpg").read_bytes())
    await asyncio.gather(*(store.variant(record.hash, 320, "webp") for _ in range(5)))  # one producer
    await store.variant(record.hash, 160, "jpg")
    await store.variant(record.hash, 160, "jpg")  # already on disk: nothing built
    series = parse(generate_latest(metrics.registry).decode())
    assert value(series, "storefront_image_variant_build_seconds_count", format="webp") == 1
    assert value(series, "storefront_image_variant_build_seconds_count", format="jpg") == 1
    assert value(series, "storefront_image_variant_build_seconds_sum", format="webp") > 0
