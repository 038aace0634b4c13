"""What the stack costs doing nothing: CPU of every service over a quiet minute (`python -m loadtests.idle`).

The embedded stack (SQLite, no edge) is started on loopback, left to settle, then each process's CPU time is
read before and after the window; so is the production profile (`storefront up --profile production`: PostgreSQL,
its Redis, two workers per service, two Varnish nodes per region), in a database of its own dropped after.
The goal is at most 2% of one core for the embedded stack.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from edge_config.ports import free_node_port, free_port
from loadtests.cluster import ROOT, Cluster, stop_children_on_sigterm
from stack.processes import SERVICES

GOAL = 2.0  # percent of one core, the whole stack


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (image workers, uvicorn's own)."""
    process = psutil.Process(pid)
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return total


def measure(*, seconds: float, settle: float) -> dict[str, float]:
    """Percent of one core per service over `seconds`, after `settle` seconds of quiet."""
    with tempfile.TemporaryDirectory(prefix="storefront-idle-") as tmp:
        cluster = Cluster(data_dir=Path(tmp))
        try:
            cluster.start_backends()
            origin = cluster.origin()
            cluster.invalidator(STOREFRONT_ORIGIN_URL=origin)
            names = {process.pid: _name(cluster, url) for url, process in cluster.processes.items()}
            time.sleep(settle)
            before = {pid: _cpu_seconds(pid) for pid in names}
            started = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            return {names[pid]: (_cpu_seconds(pid) - used) / elapsed * 100 for pid, used in before.items()}
        finally:
            cluster.close()


PG_ADMIN = os.environ.get("STOREFRONT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")  # as the tests


def measure_production(*, seconds: float, settle: float) -> dict[str, float]:
    """Percent of one core per kind of process of the production profile (each service's workers, the Varnish
    nodes, Redis) over `seconds`, after `settle` seconds of quiet; PostgreSQL itself is not counted."""
    database = f"storefront_idle_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory(prefix="storefront-idle-production-") as tmp:
        regions = (ROOT / "edge_config" / "regions.toml").read_text()
        for default in (8081, 8082, 8083):
            regions = regions.replace(f"http://127.0.0.1:{default}", f"http://127.0.0.1:{free_node_port(2)}")
        (Path(tmp) / "regions.toml").write_text(regions)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STOREFRONT_")}
        env |= {
            "STOREFRONT_DATA_DIR": str(Path(tmp) / "var"),
            "STOREFRONT_REGIONS_FILE": str(Path(tmp) / "regions.toml"),
            "STOREFRONT_DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            + f"/{database}",
            "STOREFRONT_VARNISH_EXPORTER_PORT": str(free_port()),
            **{f"STOREFRONT_{name.upper()}_URL": f"http://127.0.0.1:{free_port()}" for name in SERVICES},
        }
        up = subprocess.Popen(
            [sys.executable, "-m", "storefront", "up", "--profile", "production", "--products", "60"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert up.stdout is not None
            for line in up.stdout:
                if "Press Ctrl-C" in line:
                    break
            else:
                raise RuntimeError("the production profile did not start")
            time.sleep(settle)
            processes = psutil.Process(up.pid).children(recursive=True)
            before = {p.pid: _own_cpu(p) for p in processes}
            started = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            shares: dict[str, float] = {}
            for process in processes:
                kind = _kind(process)
                shares[kind] = shares.get(kind, 0.0) + (_own_cpu(process) - before[process.pid]) / elapsed * 100
            return shares
        finally:
            up.send_signal(signal.SIGTERM)
            try:
                up.wait(timeout=60)
            except subprocess.TimeoutExpired:
                up.kill()
                up.wait()
            asyncio.run(_drop(database))


def _own_cpu(process: psutil.Process) -> float:
    try:
        return sum(process.cpu_times()[:2])
    except psutil.NoSuchProcess:
        return 0.0


def _kind(process: psutil.Process) -> str:
    """`catalog`, `origin`… for a service and its workers, `varnish` for every node, `redis`."""
    try:
        command = " ".join(process.cmdline())
        parents = " ".join(" ".join(p.cmdline()) for p in process.parents())
    except psutil.NoSuchProcess:
        return "other"
    if "varnishd" in command:
        return "varnish (6 nodes)"
    if "redis-server" in command:
        return "redis"
    found = re.search(r"storefront serve (\w+)", command) or re.search(r"storefront serve (\w+)", parents)
    return found.group(1) if found else "other"


async def _drop(database: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN, timeout=10)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await connection.close()


def _name(cluster: Cluster, url: str) -> str:
    if url == cluster.invalidator_url:
        return "invalidator"
    return next((name for name, backend in cluster.backends.items() if backend == url), "origin")


def section(figures: dict[str, float], seconds: float, production: dict[str, float] | None = None) -> list[str]:
    total = sum(figures.values())
    cells = " | ".join(f"{name} {share:.2f}%" for name, share in sorted(figures.items()))
    verdict = "meets" if total <= GOAL else "misses"
    lines = [
        "## Idle cost of the stack",
        "",
        "The embedded stack (four backends, origin, invalidator; SQLite, no edge) after it settled, over "
        f"{seconds:.0f} s with no traffic: **{total:.2f}% of one core** in all ({verdict} the {GOAL:.0f}% goal).",
        f"Per service: {cells}.",
        "Outbox readers long-poll (a commit wakes them), purgers sleep until a purge is recorded or falls due.",
        "",
    ]
    if production is not None:
        cells = " | ".join(f"{name} {share:.2f}%" for name, share in sorted(production.items()))
        lines += [
            f"The production profile (`storefront up --profile production`), measured right after, the same way: "
            f"**{sum(production.values()):.2f}% of one core** (PostgreSQL's own processes not counted). "
            f"Per kind of process: {cells}.",
            "",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window (60)")
    parser.add_argument("--settle", type=float, default=20.0, help="quiet time before it (20)")
    parser.add_argument("--production", action="store_true", help="also the production profile (PostgreSQL)")
    args = parser.parse_args(argv)
    embedded = measure(seconds=args.seconds, settle=args.settle)
    production = measure_production(seconds=args.seconds, settle=args.settle) if args.production else None
    print("\n".join(section(embedded, args.seconds, production)))
    return 0


if __name__ == "__main__":
    stop_children_on_sigterm()
    raise SystemExit(main())
