"""The image routes over HTTP (in-process client): refusals are 422 or 503 problems, failed variants 404, never 500."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from litestar import Litestar
from litestar.datastructures import State
from litestar.testing import AsyncTestClient

from image_pipeline.ingest import ImageRecord
from image_pipeline.jobs import store_original
from image_pipeline.routes import image, upload
from image_pipeline.store import ImageStore
from image_pipeline.workers import ImageWorkers
from tests.image_pipeline.conftest import flat_png

TOKEN = "test-admin"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "image/png"}


def app_for(store: ImageStore, *, start_workers: bool = True) -> Litestar:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        if store.workers is not None and start_workers:
            async with store.workers:
                yield
        else:
            yield

    state = State({"images": store, "settings": SimpleNamespace(admin_token=TOKEN)})
    # logging_config=None: Litestar's own configuration would replace the handler pytest captures with.
    return Litestar(route_handlers=[image, upload], state=state, lifespan=[lifespan], logging_config=None)


@asynccontextmanager
async def client_for(app: Litestar) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app) as client:
        yield client


@pytest.mark.parametrize(("size", "reason"), [((1, 60000), "1 x 60000"), ((1080, 20000), "960 x 17778")])
async def test_sizes_webp_cannot_hold_are_refused_at_upload(tmp_path: Path, size: tuple[int, int], reason: str) -> None:
    async with client_for(app_for(ImageStore(tmp_path, workers=ImageWorkers(1, 768)))) as client:
        response = await client.post("/admin/images", content=flat_png(*size), headers=HEADERS)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert reason in response.json()["detail"] and "WebP" in response.json()["detail"]


async def test_the_tallest_webp_variant_is_accepted(tmp_path: Path) -> None:
    async with client_for(app_for(ImageStore(tmp_path, workers=ImageWorkers(1, 768)))) as client:
        response = await client.post("/admin/images", content=flat_png(160, 16383), headers=HEADERS)
        assert response.status_code == 201
        variant = await client.get(f"/img/{response.json()['hash']}/160.webp")
    assert variant.status_code == 200 and variant.headers["content-type"] == "image/webp"
    assert variant.headers["content-disposition"] == 'inline; filename="160.webp"'


async def test_uploads_over_the_memory_ceiling_or_the_pixel_limit_are_422(tmp_path: Path) -> None:
    async with client_for(app_for(ImageStore(tmp_path, workers=ImageWorkers(1, 96)))) as client:
        too_many = await client.post("/admin/images", content=flat_png(9000, 9000, mode="1"), headers=HEADERS)
        too_heavy = await client.post("/admin/images", content=flat_png(6000, 6000), headers=HEADERS)
        fine = await client.post("/admin/images", content=flat_png(640, 480), headers=HEADERS)
    assert too_many.status_code == 422 and "40 million pixels" in too_many.json()["detail"]
    assert too_heavy.status_code == 422 and "96 MB an image job may use" in too_heavy.json()["detail"]
    assert fine.status_code == 201


async def test_no_workers_means_503_not_500(tmp_path: Path) -> None:
    app = app_for(ImageStore(tmp_path, workers=ImageWorkers(1, 768)), start_workers=False)
    async with client_for(app) as client:
        response = await client.post("/admin/images", content=flat_png(640, 480), headers=HEADERS)
    assert response.status_code == 503
    assert response.headers["retry-after"] and response.headers["cache-control"] == "no-store"


async def test_a_variant_no_encoder_can_make_is_404_and_its_eager_build_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Stored before uploads were checked for WebP's limit: its 960 px variant would be 960 x 17778.
    data = flat_png(1080, 20000)
    digest = hashlib.sha256(data).hexdigest()
    record = ImageRecord(digest, "png", 1080, 20000, len(data), "#c83c28", "")
    store = ImageStore(tmp_path, workers=ImageWorkers(1, 768))
    store_original(store.originals, record, data)
    async with client_for(app_for(store)) as client:
        for fmt in ("webp", "jpg"):  # every variant of it is refused, before any decode
            response = await client.get(f"/img/{digest}/960.{fmt}")
            assert response.status_code == 404, response.text
        with caplog.at_level(logging.WARNING, logger="image_pipeline.store"):
            await store.build_eagerly(digest)
    assert "eager variant build of image" in caplog.text and "WebP" in caplog.text


async def test_identical_concurrent_uploads_share_one_decode(tmp_path: Path) -> None:
    import asyncio

    async with ImageWorkers(2, 768) as workers:
        store = ImageStore(tmp_path, workers=workers)
        data = flat_png(1200, 800)
        results = await asyncio.gather(*(store.add(data) for _ in range(3)))
        again = await store.add(data)
    assert sorted(created for _, created in results) == [False, False, True]
    assert workers.counters["jobs"] == 1 and again[1] is False
    assert len({record for record, _ in [*results, again]}) == 1
