"""End to end: `storefront up` seeds, starts every service on loopback, serves real HTTP, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from storefront.stack import free_port


def _wait_for(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line:
            seen.append(line)
            if marker in line:
                return "".join(seen)
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.05)
    raise AssertionError(f"never saw {marker!r}; output so far:\n{''.join(seen)}")


def test_up_serves_the_shop_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("catalog", "pricing", "cms", "origin")}
    env = os.environ | {
        "STOREFRONT_DATA_DIR": str(tmp_path / "var"),
        "STOREFRONT_ADMIN_TOKEN": "e2e-admin",
        "STOREFRONT_EDITOR_TOKEN": "e2e-editor",
        **{f"STOREFRONT_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()},
    }
    env.pop("STOREFRONT_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "storefront", "up", "--products", "40", "--seed", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = _wait_for(process, "Press Ctrl-C to stop.", timeout=60)
        assert "seeded 40 products" in output
        for name, port in ports.items():
            assert f"http://127.0.0.1:{port}" in output
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert health.json() == {"status": "ok", "service": name}

        catalog, pricing, cms, origin = (
            f"http://127.0.0.1:{ports[n]}" for n in ("catalog", "pricing", "cms", "origin")
        )
        for region, lang in (("us", "en"), ("eu", "de"), ("apac", "en")):
            assert f"{origin}/{region}/{lang}/" in output
            assert httpx.get(f"{origin}/{region}/{lang}/", timeout=10).status_code == 200
        listing = httpx.get(f"{catalog}/products", params={"region": "eu", "page_size": 5}).json()
        assert listing["total"] == 40
        skus = ",".join(item["skus"][0] for item in listing["items"])
        prices = httpx.get(f"{pricing}/prices", params={"region": "eu", "skus": skus}).json()
        assert prices["currency"] == "EUR" and len(prices["prices"]) == 5
        hero = httpx.get(f"{cms}/delivery/entries/hero/home-hero", params={"locale": "de-DE"}).json()
        assert hero["locale"] == "de-DE"

        # A write through real HTTP lands with its event; a write without the token is refused.
        sku = listing["items"][0]["skus"][0]
        refused = httpx.put(f"{pricing}/admin/prices/eu/{sku}", json={"list": "1.00"})
        assert refused.status_code == 401
        ok = httpx.put(
            f"{pricing}/admin/prices/eu/{sku}",
            json={"list": "123.45"},
            headers={"Authorization": "Bearer e2e-admin"},
        )
        assert ok.status_code == 200
        feed = httpx.get(f"{pricing}/admin/outbox", headers={"Authorization": "Bearer e2e-admin"}).json()
        assert [e["type"] for e in feed["events"]] == ["price.changed"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0
    for port in ports.values():
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.ConnectError:
            continue
        raise AssertionError(f"something still listens on {port} after the stack stopped")


def test_seed_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    def run(data_dir: Path, *args: str) -> str:
        env = os.environ | {"STOREFRONT_DATA_DIR": str(data_dir)}
        env.pop("STOREFRONT_DATABASE_URL", None)
        result = subprocess.run(
            [sys.executable, "-m", "storefront", "seed", "--products", "20", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    assert "seeded 20 products" in run(tmp_path / "a", "--seed", "9")
    assert "already seeded" in run(tmp_path / "a", "--seed", "9")
    run(tmp_path / "b", "--seed", "9")
    originals_a = sorted(p.name for p in (tmp_path / "a" / "images" / "originals").glob("*.jpg"))
    originals_b = sorted(p.name for p in (tmp_path / "b" / "images" / "originals").glob("*.jpg"))
    assert originals_a == originals_b and len(originals_a) == 24
