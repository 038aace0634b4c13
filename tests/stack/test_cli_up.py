"""End to end: `storefront up` seeds, serves real HTTP on loopback, restarts what crashes, stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from edge_config.ports import free_port
from stack.processes import SERVICES


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
    ports = {name: free_port() for name in SERVICES}
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
        output = _wait_for(process, "Press Ctrl-C to stop.", timeout=120)
        assert "seeded 40 products" in output
        for name, port in ports.items():
            assert f"http://127.0.0.1:{port}" in output
            answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            health = answer.json()
            assert (health["status"], health["service"]) == ("ok", name)
            assert "server" not in answer.headers, "no service names its server software"

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
        process.wait(timeout=60)
    assert process.returncode == 0
    for port in ports.values():
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.ConnectError:
            continue
        raise AssertionError(f"something still listens on {port} after the stack stopped")


class Output:
    """Everything a child prints, read by a thread so the test can wait for a line at any point."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=lambda: self.lines.extend(stream), daemon=True).start()

    @property
    def text(self) -> str:
        return "".join(self.lines)


def eventually(check: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not true within {timeout} s: {check}"
        time.sleep(0.05)


def services_of(parent: int) -> dict[str, int]:
    """The live `storefront serve NAME` children of `parent`, by service name (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue  # exited while we looked
        if int(ppid) == parent and state != "Z" and b"serve" in argv[:-1]:
            found[argv[argv.index(b"serve") + 1].decode()] = int(entry.name)
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_up_restarts_a_killed_service_and_the_rest_keep_serving(tmp_path: Path) -> None:
    ports = {name: free_port() for name in SERVICES}
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env |= {
        "STOREFRONT_DATA_DIR": str(tmp_path / "var"),
        "STOREFRONT_ADMIN_TOKEN": "e2e-admin",
        **{f"STOREFRONT_{name.upper()}_URL": u for name, u in url.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "storefront", "up", "--products", "20", "--seed", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    pids: dict[str, int] = {}
    try:
        eventually(lambda: "Press Ctrl-C to stop." in output.text or process.poll() is not None, timeout=120)
        assert process.poll() is None, output.text
        pids = services_of(process.pid)
        assert set(pids) == set(SERVICES), pids
        home = f"{url['origin']}/us/en/"
        assert answers(home)  # now in the origin's page cache

        os.kill(pids["catalog"], signal.SIGKILL)
        assert answers(home) and answers(f"{url['origin']}/healthz")  # the origin does not go down with it
        eventually(lambda: "catalog exited with SIGKILL; restarting in 0.5 s" in output.text)
        eventually(lambda: services_of(process.pid).get("catalog", pids["catalog"]) != pids["catalog"], timeout=60)
        eventually(lambda: answers(f"{url['catalog']}/healthz"), timeout=60)
        eventually(lambda: "catalog restarted (pid" in output.text)

        assert process.poll() is None, output.text  # the stack is still up
        now = services_of(process.pid)
        assert {k: v for k, v in now.items() if k != "catalog"} == {k: v for k, v in pids.items() if k != "catalog"}
        assert all(answers(f"{u}/healthz") for u in url.values())
        assert answers(home)
        listing = httpx.get(f"{url['catalog']}/products", params={"region": "us"}, timeout=10).json()
        assert listing["total"] == 20
        pids["catalog (restarted)"] = now["catalog"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert process.returncode == 0, output.text
    assert not [name for name, pid in pids.items() if alive(pid)]
    assert not [name for name, u in url.items() if answers(f"{u}/healthz")]
    assert "Traceback" not in output.text


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

    first = run(tmp_path / "a", "--seed", "9")
    assert "seeded 20 products" in first
    assert "already seeded" in run(tmp_path / "a", "--seed", "9")
    run(tmp_path / "b", "--seed", "9")
    originals_a = sorted(p.name for p in (tmp_path / "a" / "images" / "originals").glob("*.png"))
    originals_b = sorted(p.name for p in (tmp_path / "b" / "images" / "originals").glob("*.png"))
    drawn = re.search(r"(\d+) images", first)
    # Three views of each product look the 20 products use, and the home banner: the same pictures each time.
    assert drawn and originals_a == originals_b and len(originals_a) == int(drawn[1]) > 20
