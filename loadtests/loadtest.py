"""`storefront loadtest`: the stack behind one Varnish per region, locust against the edges, then a report.

Writes into the output folder: locust's HTML and CSV files, `samples.csv` (every request), `summary.md`
(per page kind at the edge, hit rate, origin requests per second from the origin's own counters, purges
applied, errors, and per step for the step profile) and charts of throughput, latency and origin load.
Everything it starts binds to 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from loadtests.cluster import ROOT, TOKEN, Cluster

PROFILES = {"1x": (1,), "10x": (10,), "step": (1, 2, 5, 10)}
SHOP_PAGE = 100  # the catalog's largest page
BROWSING = ("home", "category", "product", "search")
# Answers the edge gave from its cache (STALE: served while revalidating; STALE-IF-ERROR: origin failing).
FROM_EDGE_CACHE = ("HIT", "STALE", "STALE-IF-ERROR")
WARMUP_SHARE = 0.3  # the start of each step is left out of its figures: caches and users settle first


@dataclass
class OriginSampler:
    """Polls the origin's and the invalidator's counters once a second while the load runs."""

    origin: str
    invalidator: str
    # time, origin requests, of which cacheable page requests, purges applied
    rows: list[tuple[float, int, int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _poll(self) -> None:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(timeout=5, headers=auth) as client:
            while not self._stop.is_set():
                try:
                    origin = client.get(f"{self.origin}/internal/metrics").json()["counters"]
                    purges = client.get(f"{self.invalidator}/internal/metrics").json()["counters"]
                    row = (time.time(), origin.get("requests", 0), origin.get("page_requests", 0))
                    self.rows.append((*row, purges.get("purges_applied", 0)))
                except httpx.HTTPError:
                    pass
                self._stop.wait(1.0)

    def __enter__(self) -> OriginSampler:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def rate(self, start: float, end: float, column: int) -> float:
        inside = [r for r in self.rows if start <= r[0] <= end]
        if len(inside) < 2:
            return 0.0
        return (inside[-1][column] - inside[0][column]) / (inside[-1][0] - inside[0][0])


def fetch_shop(catalog_url: str, *, region: str = "us", transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
    """What shoppers can browse: every product's slug and SKUs (all pages of the catalog's listing, without
    facets) and the leaf categories. The runner writes it to a file for locust (`STOREFRONT_LOADTEST_SHOP`),
    so locust starts at once however big the shop; run by hand, locust calls this itself."""
    products: list[dict[str, Any]] = []
    with httpx.Client(base_url=catalog_url, timeout=30, transport=transport) as client:
        for page in range(1, 10_001):
            params = {"region": region, "page": page, "page_size": SHOP_PAGE, "facets": "false"}
            body = client.get("/products", params=params).raise_for_status().json()
            products += [{"slug": item["slug"], "skus": item["skus"]} for item in body["items"]]
            if not body["items"] or page * SHOP_PAGE >= body["total"]:
                break
        tree = client.get("/categories").raise_for_status().json()["categories"]
    leaves = [c["slug"] for top in tree for c in top.get("children", [])] or [t["slug"] for t in tree]
    return {"products": products, "categories": leaves}


def run(
    *,
    profile: str,
    step_seconds: float,
    users: int,
    output: Path,
    products: int = 60,
    cluster: Cluster | None = None,
) -> dict[str, Any]:
    """Run one load test and write its report into `output`; returns the figures (for the harness)."""
    output.mkdir(parents=True, exist_ok=True)
    own = cluster is None
    tmp = tempfile.TemporaryDirectory(prefix="storefront-loadtest-") if own else None
    if cluster is None:
        cluster = Cluster(data_dir=Path(tmp.name))  # type: ignore[union-attr]
    edges = []
    try:
        if own:
            subprocess.run(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "storefront", "seed", "--products", str(products)],
                env=cluster.env(),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            cluster.start_backends()
        edges, common = cluster.edges()
        origin = cluster.origin(STOREFRONT_PAGE_CACHE="off", STOREFRONT_CMS_CACHE_TTL="0", **common)
        invalidator = cluster.invalidator(STOREFRONT_ORIGIN_URL=origin, **common)
        for edge in edges:
            edge.origin_url = origin
            edge.start()
        samples = output / "samples.csv"
        shop = cluster.data_dir / "loadtest-shop.json"
        shop.write_text(json.dumps(fetch_shop(cluster.backends["catalog"])))
        env = cluster.env(
            STOREFRONT_INVALIDATOR_URL=invalidator,
            STOREFRONT_LOADTEST_EDGES=json.dumps({e.region.code: e.url for e in edges}),
            STOREFRONT_LOADTEST_PROFILE=profile,
            STOREFRONT_LOADTEST_USERS=str(users),
            STOREFRONT_LOADTEST_STEP_SECONDS=str(step_seconds),
            STOREFRONT_LOADTEST_SAMPLES=str(samples),
            STOREFRONT_LOADTEST_SHOP=str(shop),
            **common,
        )
        total_seconds = step_seconds * len(PROFILES[profile])
        command = [
            sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"), "--headless",
            "--host", edges[0].url, "--csv", str(output / "locust"), "--csv-full-history",
            "--html", str(output / "locust.html"), "--stop-timeout", "5", "--only-summary",
        ]  # fmt: skip
        log = output / "locust.log"
        with OriginSampler(origin, invalidator) as sampler, log.open("wb") as log_file:
            began = time.time()
            process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
            exit_code, cpu = _wait(process, deadline=time.monotonic() + total_seconds + 120)
            ended = time.time()
        if not samples.exists():
            raise RuntimeError(f"locust wrote no samples; see {log}:\n{log.read_text()[-2000:]}")
        figures = report(
            samples=samples,
            sampler=sampler,
            began=began,
            ended=ended,
            profile=profile,
            step_seconds=step_seconds,
            users=users,
            locust_cpu=cpu,
            exit_code=exit_code,
            output=output,
        )
        return figures
    finally:
        for edge in edges:
            edge.stop()
        if own:
            cluster.close()
            tmp.cleanup()  # type: ignore[union-attr]


def _wait(process: subprocess.Popen[bytes], deadline: float) -> tuple[int, float]:
    """Wait for locust (killing it past the deadline); its exit code and the CPU seconds it used."""
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage.ru_utime + usage.ru_stime
        if time.monotonic() > deadline:
            process.kill()
        time.sleep(0.2)


Sample = tuple[float, str, float, bool, str, str]  # time, request name, ms, ok, X-Cache, URL


def _load(samples: Path) -> list[Sample]:
    with samples.open() as handle:
        return [
            (float(r["time"]), r["name"], float(r["ms"]), r["ok"] == "1", r["x_cache"], r.get("url") or "")
            for r in csv.DictReader(handle)
        ]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _window(rows: list[Any], start: float, end: float) -> list[Any]:
    return [r for r in rows if start <= r[0] < end]


def report(
    *,
    samples: Path,
    sampler: OriginSampler,
    began: float,
    ended: float,
    profile: str,
    step_seconds: float,
    users: int,
    locust_cpu: float,
    exit_code: int,
    output: Path,
) -> dict[str, Any]:
    rows = _load(samples)
    steps = []
    for index, multiplier in enumerate(PROFILES[profile]):
        start = began + index * step_seconds + WARMUP_SHARE * step_seconds
        end = min(began + (index + 1) * step_seconds, ended)
        inside = _window(rows, start, end)
        browsing = [r for r in inside if r[1] in BROWSING]
        seconds = max(end - start, 1e-9)
        steps.append(
            {
                "multiplier": multiplier,
                "users": users * multiplier,
                "edge_rps": len(inside) / seconds,
                "browsing_rps": len(browsing) / seconds,
                "edge_p50": _pct([r[2] for r in browsing], 0.5),
                "edge_p95": _pct([r[2] for r in browsing], 0.95),
                "hit_rate": sum(r[4] in FROM_EDGE_CACHE for r in browsing) / len(browsing) if browsing else 0.0,
                "origin_rps": sampler.rate(start, end, 1),
                "origin_page_rps": sampler.rate(start, end, 2),
                "failures": sum(not r[3] for r in inside),
            }
        )
    by_name: dict[str, list[Sample]] = {}
    for r in rows:
        by_name.setdefault(r[1], []).append(r)
    duration = max(ended - began, 1e-9)
    kinds = [
        {
            "name": name,
            "requests": len(items),
            "rps": len(items) / duration,
            "p50": _pct([r[2] for r in items], 0.5),
            "p95": _pct([r[2] for r in items], 0.95),
            "p99": _pct([r[2] for r in items], 0.99),
            "hit_rate": sum(r[4] in FROM_EDGE_CACHE for r in items) / len(items),
            "failures": sum(not r[3] for r in items),
        }
        for name, items in sorted(by_name.items())
    ]
    purges = sampler.rows[-1][3] - sampler.rows[0][3] if len(sampler.rows) > 1 else 0
    figures = {
        "profile": profile,
        "users_1x": users,
        "step_seconds": step_seconds,
        "duration": duration,
        "requests": len(rows),
        "failures": sum(not r[3] for r in rows),
        "locust_exit_code": exit_code,
        "locust_cpu_share": locust_cpu / duration,
        "purges_applied": purges,
        "steps": steps,
        "kinds": kinds,
    }
    (output / "summary.json").write_text(json.dumps(figures, indent=2))
    (output / "summary.md").write_text("\n".join(summary_lines(figures)) + "\n")
    charts(rows, sampler, began, output)
    return figures


def summary_lines(f: dict[str, Any]) -> list[str]:
    lines = [
        f"# Load test: profile {f['profile']}, {f['users_1x']} shoppers at 1x, {f['step_seconds']:.0f} s a step",
        "",
        f"{f['requests']} requests in {f['duration']:.0f} s, **{f['failures']} failed**; purges applied to edges: "
        f"{f['purges_applied']}; locust itself used {f['locust_cpu_share']:.0%} of one core.",
        "",
        "Per step (the first 30% of each step is left out while caches and users settle; latencies and hit rate "
        "are for anonymous browsing: home, category, product, search):",
        "",
        "| step | shoppers | edge req/s | edge p50 | edge p95 | edge hit rate | origin req/s, all "
        "| origin req/s, cacheable pages | failed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in f["steps"]:
        lines.append(
            f"| {s['multiplier']}x | {s['users']} | {s['edge_rps']:.1f} | {s['edge_p50']:.1f} ms | "
            f"{s['edge_p95']:.1f} ms | {s['hit_rate']:.1%} | {s['origin_rps']:.2f} | {s['origin_page_rps']:.2f} "
            f"| {s['failures']} |"
        )
    lines += [
        "",
        "Per request name, whole run:",
        "",
        "| name | requests | req/s | p50 | p95 | p99 | X-Cache HIT | failed |",
        "|---|---|---|---|---|---|---|---|",
        *(
            f"| {k['name']} | {k['requests']} | {k['rps']:.1f} | {k['p50']:.1f} ms | {k['p95']:.1f} ms | "
            f"{k['p99']:.1f} ms | {k['hit_rate']:.0%} | {k['failures']} |"
            for k in f["kinds"]
        ),
        "",
        "Charts: `throughput.png`, `latency.png`, `origin.png`. Locust's own report: `locust.html`, `locust_*.csv`.",
    ]
    return lines


def charts(rows: list[Sample], sampler: OriginSampler, began: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds: dict[int, list[Sample]] = {}
    for r in rows:
        seconds.setdefault(int(r[0] - began), []).append(r)
    xs = sorted(seconds)
    browsing = {x: [r for r in seconds[x] if r[1] in BROWSING] for x in xs}

    def plot(name: str, title: str, ylabel: str, series: dict[str, tuple[list[float], list[float]]]) -> None:
        fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
        for label, (x, y) in series.items():
            ax.plot(x, y, label=label, linewidth=1.4)
        ax.set_title(title)
        ax.set_xlabel("seconds since start")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)

    plot(
        "throughput.png",
        "Requests per second at the edges",
        "req/s",
        {
            "all requests": (xs, [len(seconds[x]) for x in xs]),
            "edge hits": (xs, [sum(r[4] in FROM_EDGE_CACHE for r in seconds[x]) for x in xs]),
        },
    )
    plot(
        "latency.png",
        "Anonymous browsing latency at the edges (per second)",
        "ms",
        {
            "p50": (xs, [_pct([r[2] for r in browsing[x]], 0.5) for x in xs]),
            "p95": (xs, [_pct([r[2] for r in browsing[x]], 0.95) for x in xs]),
        },
    )
    points = sampler.rows
    ox = [p[0] - began for p in points[1:]]
    plot(
        "origin.png",
        "Origin load (from the origin's own counters)",
        "per second",
        {
            "origin requests/s": (ox, [(b[1] - a[1]) / max(b[0] - a[0], 1e-9) for a, b in itertools.pairwise(points)]),
            "cacheable page requests/s": (
                ox,
                [(b[2] - a[2]) / max(b[0] - a[0], 1e-9) for a, b in itertools.pairwise(points)],
            ),
        },
    )


def _per_second(points: list[tuple[float, int, int, int]], column: int) -> list[float]:
    return [(b[column] - a[column]) / max(b[0] - a[0], 1e-9) for a, b in itertools.pairwise(points)]


def parse_duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    text = text.strip().lower()
    value = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    if not 1 <= value <= 3600:
        raise ValueError("a duration from 1s to 1h")
    return value


def summarize_steps(figures: dict[str, Any]) -> dict[str, float]:
    """The 10x claim's ratios, from the first (1x) and last (10x) step of a step run."""
    first, last = figures["steps"][0], figures["steps"][-1]
    return {
        "origin_ratio": last["origin_rps"] / first["origin_rps"] if first["origin_rps"] else float("inf"),
        "page_ratio": last["origin_page_rps"] / first["origin_page_rps"] if first["origin_page_rps"] else float("inf"),
        "p95_ratio": last["edge_p95"] / first["edge_p95"] if first["edge_p95"] else float("inf"),
    }
