"""Runs one `varnishd` per region on loopback, each with its own working directory and admin port."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from edge_config.ports import free_port
from edge_config.regions import Region
from edge_config.varnish_exporter import varnishstat
from edge_config.vcl import render_vcl


class VarnishUnavailable(RuntimeError):
    pass


@dataclass
class Varnish:
    region: Region
    url: str
    origin_url: str
    purgers: tuple[str, ...] = ("127.0.0.1",)
    memory: str = "256m"
    # Passed to `render_vcl` (grace, stale_if_error, keep, first_byte_timeout, failure_hold): short for tests.
    vcl_options: Mapping[str, float | str | bool] = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="varnish-")))
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        binary = shutil.which("varnishd") or "/usr/sbin/varnishd"
        if not Path(binary).exists():
            raise VarnishUnavailable("varnishd is not installed (apt-get install varnish varnish-modules)")
        vcl = self.workdir / f"{self.region.code}.vcl"
        vcl.write_text(
            render_vcl(self.region, self.origin_url, purgers=self.purgers, **self.vcl_options), encoding="utf-8"
        )
        address = urlsplit(self.url)
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, arguments we build
            [
                binary,
                "-F",
                "-j",
                "none",
                "-n",
                str(self.workdir / "n"),
                "-a",
                f"{address.hostname}:{address.port}",
                "-T",
                f"127.0.0.1:{free_port()}",
                "-f",
                str(vcl),
                "-s",
                f"malloc,{self.memory}",
                "-p",
                "default_ttl=0",  # only what the origin marks cacheable is cached
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise VarnishUnavailable(f"varnishd for {self.region.code} exited: {error[-800:]}")
            try:
                httpx.request("PURGE", f"{self.url}/__ready", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise VarnishUnavailable(f"varnishd for {self.region.code} did not start")

    def admin(self, *command: str) -> str:
        """Run a `varnishadm` command against this instance (e.g. `backend.list`) and return its output."""
        binary = shutil.which("varnishadm") or "/usr/bin/varnishadm"
        done = subprocess.run(  # noqa: S603 - fixed binary, arguments we build
            [binary, "-n", str(self.workdir / "n"), *command], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout

    def counter(self, name: str) -> int:
        """One of this instance's `varnishstat` counters (e.g. `MAIN.busy_sleep`)."""
        return int(varnishstat(self.workdir / "n")[name]["value"])

    def origin_healthy(self) -> bool:
        """Whether the health probe currently says the origin is healthy."""
        return " healthy " in self.admin("backend.list")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)
