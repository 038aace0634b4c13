"""End to end over real HTTP: large uploads to a real origin process leave its memory flat; workers decode.

Run under `flock /tmp/storefront-stack.lock` like every test that starts servers."""

from __future__ import annotations

import concurrent.futures
import io
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from edge_config.ports import free_port
from stack.processes import spawn, stop, wait_healthy
from tests.image_pipeline.conftest import flat_png

# The origin's peak RSS (VmHWM) through the whole test. It idles at about 80 MB; one 36-megapixel decode is
# 144 MB of pixels alone, so a single decode in the origin process would cross this bound. Before the
# workers, three such uploads took the origin to 1.3 GB (and it kept it).
ORIGIN_PEAK_RSS_MB = 200
TOKEN = "e2e-admin"
EAGER = [f"{width}.{fmt}" for width in (320, 640, 960) for fmt in ("avif", "webp", "jpg")]


@dataclass
class Origin:
    url: str
    process: subprocess.Popen[bytes]
    images: Path

    def peak_rss_mb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
        raise AssertionError("no VmHWM in /proc")


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Origin]:
    """The origin alone: uploads and variants need no backend, so the others' URLs point at closed ports."""
    if not Path("/proc/self/status").exists():
        pytest.skip("reads peak RSS from /proc")
    data = tmp_path_factory.mktemp("origin")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env |= {
        "STOREFRONT_DATA_DIR": str(data),
        "STOREFRONT_ADMIN_TOKEN": TOKEN,
        "STOREFRONT_ORIGIN_URL": f"http://127.0.0.1:{port}",
        "STOREFRONT_IMAGE_WORKERS": "2",
        **{
            f"STOREFRONT_{name}_URL": f"http://127.0.0.1:{free_port()}"
            for name in ("CATALOG", "PRICING", "CMS", "CHECKOUT", "INVALIDATOR")
        },
    }
    process = spawn("origin", env, quiet=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy("origin", url, process, time.monotonic() + 30)
        yield Origin(url, process, data / "images")
    finally:
        stop([process])


def upload(origin: Origin, body: bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "image/png"}
    return httpx.post(f"{origin.url}/admin/images", content=body, headers=headers, timeout=120)


def wait_until(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_large_uploads_are_decoded_outside_the_origin(origin: Origin) -> None:
    large = [flat_png(6000, 6000, (40 * i, 120, 200 - 40 * i)) for i in range(4)]  # 36 MP each, ~110 KB
    assert all(len(body) < 1024 * 1024 for body in large)
    refused = [flat_png(1, 60000), flat_png(1080, 20000), large[0][: len(large[0]) // 2]]  # WebP-proof; cut
    with concurrent.futures.ThreadPoolExecutor(len(large) + len(refused)) as pool:
        answers = list(pool.map(lambda body: upload(origin, body), large + refused))

    accepted = answers[: len(large)]
    for answer in accepted:  # a clean refusal by the memory ceiling would be allowed; a 500 never
        assert answer.status_code in (200, 201, 422), answer.text
    stored = [answer.json() for answer in accepted if answer.status_code in (200, 201)]
    assert len(stored) == len(large)  # the default ceiling has room for a 36 MP PNG
    assert all((record["width"], record["height"]) == (6000, 6000) for record in stored)
    for answer in answers[len(large) :]:
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert "WebP" in answers[len(large)].json()["detail"] and "WebP" in answers[len(large) + 1].json()["detail"]

    # The common widths are built after each answer, in the workers: wait for them all on disk.
    wanted = [origin.images / "variants" / record["hash"] / name for record in stored for name in EAGER]
    wait_until(lambda: all(path.exists() for path in wanted))

    # The origin still serves: its probe, an eager variant, and a first-request build.
    assert httpx.get(f"{origin.url}/healthz", timeout=10).status_code == 200
    digest = stored[0]["hash"]
    eager = httpx.get(f"{origin.url}/img/{digest}/640.webp", timeout=60)
    assert eager.status_code == 200 and eager.headers["content-type"] == "image/webp"
    fresh = httpx.get(f"{origin.url}/img/{digest}/2048.avif", timeout=60)
    assert fresh.status_code == 200 and fresh.headers["content-type"] == "image/avif"
    with Image.open(io.BytesIO(fresh.content)) as variant:
        assert variant.size == (2048, 2048)

    peak = origin.peak_rss_mb()
    assert peak < ORIGIN_PEAK_RSS_MB, f"the origin peaked at {peak} MB"
