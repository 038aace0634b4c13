"""A real stack for end-to-end tests: every service its own process on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from edge_config.ports import free_port
from stack.processes import spawn, stop, wait_healthy

SERVICES = ("catalog", "pricing", "cms", "checkout", "origin")


@dataclass
class Stack:
    env: dict[str, str]
    ports: dict[str, int]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, service: str) -> None:
        self.processes[service] = spawn(service, self.env, quiet=True)
        wait_healthy(service, self.url(service), self.processes[service], time.monotonic() + 30)

    def stop(self, service: str) -> None:
        stop([self.processes.pop(service)])


@contextmanager
def running_stack(data: Path, **extra_env: str) -> Iterator[Stack]:
    """Seed a 60-product shop under `data` and run every service on free ports until the block ends."""
    ports = {name: free_port() for name in SERVICES}
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
    env |= {
        "STOREFRONT_DATA_DIR": str(data / "var"),
        "STOREFRONT_ADMIN_TOKEN": "e2e-admin",
        "STOREFRONT_EDITOR_TOKEN": "e2e-editor",
        **{f"STOREFRONT_{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()},
        **extra_env,
    }
    subprocess.run(
        [sys.executable, "-m", "storefront", "seed", "--products", "60", "--seed", "5"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    running = Stack(env=env, ports=ports)
    try:
        for service in SERVICES:
            running.start(service)
        yield running
    finally:
        for service in list(running.processes):
            running.stop(service)


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running
