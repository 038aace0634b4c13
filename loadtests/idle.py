"""What the stack costs doing nothing: CPU of every service over a quiet minute (`python -m loadtests.idle`).

The embedded stack (SQLite, no edge) is started on loopback, left to settle, then each process's CPU time is
read before and after the window. The goal is at most 2% of one core for the whole stack.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psutil

from loadtests.cluster import Cluster, stop_children_on_sigterm

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


def _name(cluster: Cluster, url: str) -> str:
    if url == cluster.invalidator_url:
        return "invalidator"
    return next((name for name, backend in cluster.backends.items() if backend == url), "origin")


def section(figures: dict[str, float], seconds: float) -> list[str]:
    total = sum(figures.values())
    cells = " | ".join(f"{name} {share:.2f}%" for name, share in sorted(figures.items()))
    verdict = "meets" if total <= GOAL else "misses"
    return [
        "## Idle cost of the stack",
        "",
        "The embedded stack (four backends, origin, invalidator; SQLite, no edge) after it settled, over "
        f"{seconds:.0f} s with no traffic: **{total:.2f}% of one core** in all ({verdict} the {GOAL:.0f}% goal).",
        f"Per service: {cells}.",
        "Outbox readers long-poll (a commit wakes them), purgers sleep until a purge is recorded or falls due.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window (60)")
    parser.add_argument("--settle", type=float, default=20.0, help="quiet time before it (20)")
    args = parser.parse_args(argv)
    print("\n".join(section(measure(seconds=args.seconds, settle=args.settle), args.seconds)))
    return 0


if __name__ == "__main__":
    stop_children_on_sigterm()
    raise SystemExit(main())
