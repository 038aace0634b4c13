"""The chaos benchmark: shoppers at 10x through the edges of a large shop while the origin is hit by a burst
of cache-busting traffic and the catalog hangs; then the purge race under the same load.

    python -m loadtests.chaos [--quick] [--products 10000] [--users 600] [--race-only]

Timeline (full run): locust ramps up and warms the edges, a calm "before" window, a 10 s burst of uncached
product pages with random tracking parameters straight at the origin, a 20 s SIGSTOP of the catalog, an
"after" window, and finally 100 price changes timed until no edge shows the old price. Everything binds to
127.0.0.1 and is stopped at the end; locust and every loop are bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from cache.canonical import canonical_path, canonical_query, kind_of
from edge_config.varnish import Varnish
from edge_config.vcl import render_vcl
from loadtests.cluster import ROOT, TOKEN, Cluster, stop_children_on_sigterm
from loadtests.loadtest import OriginSampler, Sample, _load, _pct, _wait

PRICE_FROM = 10  # dollars: the race's list prices are 10.00, 11.00, ... (far apart, so promotions keep them apart)
PRIVATE = ("fragment", "add", "cart", "checkout", "order")


@dataclass(frozen=True, slots=True)
class Timeline:
    warm: float
    before: float
    burst: float
    gap: float
    hang: float
    after: float
    price_changes: int
    race_budget: float  # seconds: a change that never settles costs 16.5 s, so the race is bounded

    @classmethod
    def for_run(cls, quick: bool) -> Timeline:
        if quick:
            return cls(warm=8, before=5, burst=3, gap=1, hang=5, after=8, price_changes=5, race_budget=60)
        return cls(warm=40, before=20, burst=10, gap=5, hang=20, after=30, price_changes=100, race_budget=360)


@dataclass
class Probe:
    """Asks the origin directly for a product page (never cached there) a few times a second."""

    origin: str
    slugs: list[str]
    rows: list[tuple[float, int, float]] = field(default_factory=list)  # time, status, ms
    _stop: threading.Event = field(default_factory=threading.Event)

    def _run(self) -> None:
        rng = random.Random(7)
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = client.get(f"{self.origin}/us/en/p/{rng.choice(self.slugs)}").status_code
                except httpx.HTTPError:
                    status = 0
                self.rows.append((time.time(), status, (time.perf_counter() - started) * 1000))
                self._stop.wait(0.2)

    def __enter__(self) -> Probe:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


async def _burst(origin: str, slugs: list[str], seconds: float, clients: int = 200) -> dict[str, int]:
    """Cache-busting traffic at the origin: random product pages with random tracking parameters."""
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    rng = random.Random(11)

    async def shopper(client: httpx.AsyncClient) -> None:
        while time.monotonic() < deadline:
            url = f"{origin}/us/en/p/{rng.choice(slugs)}?utm_source=mail&utm_id={rng.randrange(1 << 30)}"
            try:
                status = str((await client.get(url)).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            outcomes[status] = outcomes.get(status, 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await asyncio.gather(*(shopper(client) for _ in range(clients)))
    return outcomes


@contextmanager
def _stopped(process: subprocess.Popen[bytes]) -> Iterator[None]:
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


@dataclass(frozen=True, slots=True)
class Race:
    """The purge race's outcome: per change, the old price's window (ms; inf if the change never settled) and
    how the edge served the last response that still showed it (its `X-Cache`: STALE while the purged copy's
    refresh ran, HIT for a copy stored after the purge)."""

    windows: list[float]
    last_old: list[str]
    errors: int  # reader requests with no answer within 10 s
    variants: list[str] = field(default_factory=list)  # per change, the edge's VCL when comparing two
    latencies: dict[str, list[float]] = field(default_factory=dict)  # readers' request times (ms) by VCL


RACE_BLOCK = 10  # changes in a row under one VCL when two are compared, alternating


def _loaded_variants(edge: Varnish) -> dict[str, Callable[[], None]]:
    """The US edge's VCL with and without waiting for a purged copy's refresh, both loaded; each value switches
    the edge to it (new requests only; the cache is shared, so a switch costs nothing)."""
    switches: dict[str, Callable[[], None]] = {}
    for name, waits in (("purged-served", False), ("purged-waits", True)):
        path = edge.workdir / f"{name}.vcl"
        options = {**edge.vcl_options, "purged_waits": waits}
        path.write_text(render_vcl(edge.region, edge.origin_url, purgers=edge.purgers, **options), encoding="utf-8")
        edge.admin("vcl.load", name, str(path))
        switches[name] = partial(edge.admin, "vcl.use", name)
    return switches


def _price_race(
    edge: str,
    pricing: str,
    product: dict[str, Any],
    changes: int,
    budget: float,
    variants: dict[str, Callable[[], None]] | None = None,
) -> Race:
    """Change one SKU's price `changes` times (or until `budget` seconds are spent) while 8 clients read its
    page through the edge; for each change, the time from the price write returning until the last response
    that still showed the old price. With `variants`, blocks of changes alternate between them."""
    sku, page = product["skus"][0], f"{edge}/us/en/p/{product['slug']}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    state: dict[str, Any] = {
        "old": None, "new": None, "written": None, "last_old": 0.0, "last_old_cache": "", "new_seen": 0, "errors": 0,
        "variant": "",
    }  # fmt: skip
    latencies: dict[str, list[float]] = {}  # ms per reader request, by the edge's VCL at the time
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.wait(0.005):
                old, new, written, variant = state["old"], state["new"], state["written"], state["variant"]
                asked = time.monotonic()
                try:
                    response = client.get(page)
                except httpx.HTTPError:
                    state["errors"] += 1  # a reader that got no answer within 10 s: reported, not fatal
                    continue
                now, body = time.monotonic(), response.text
                latencies.setdefault(variant, []).append((now - asked) * 1000)
                if written is None or old is None:
                    continue
                if old in body:
                    if now > state["last_old"]:
                        state["last_old"], state["last_old_cache"] = now, response.headers.get("x-cache", "?")
                elif new in body:
                    state["new_seen"] += 1

    readers = [threading.Thread(target=reader, daemon=True) for _ in range(8)]
    for thread in readers:
        thread.start()
    windows: list[float] = []
    last_old: list[str] = []
    used: list[str] = []
    names = list(variants or {})
    try:
        with httpx.Client(timeout=10, headers=auth) as client:

            def shown(list_price: str) -> str:
                """Set the list price; the page shows pricing's final price (a promotion may apply)."""
                client.put(f"{pricing}/admin/prices/us/{sku}", json={"list": list_price}).raise_for_status()
                quote = client.get(f"{pricing}/prices", params={"region": "us", "skus": sku}).json()
                return f"${quote['prices'][0]['final_minor'] / 100:,.2f}"

            # Each change follows the last (its new price is the next one's old): a price never repeats, so
            # every response tells which side of a change it is on.
            old = shown(f"{PRICE_FROM}.00")
            if not _wait_for(lambda: old in _text(page), 15):
                return Race([float("inf")] * changes, [], state["errors"])
            deadline = time.monotonic() + budget
            for number in range(1, changes + 1):
                if time.monotonic() > deadline:
                    break
                if variants:
                    name = names[(number - 1) // RACE_BLOCK % len(names)]
                    if not used or used[-1] != name:
                        variants[name]()
                    used.append(name)
                    state["variant"] = name
                state.update(old=old, new=None, written=None, last_old=0.0, last_old_cache="", new_seen=0)
                written = time.monotonic()
                state["new"] = new = shown(f"{PRICE_FROM + number}.00")
                state["written"] = written
                converged = _wait_for(lambda: state["new_seen"] >= 16, 15)
                time.sleep(1.5)  # keep reading: a stale copy stored late would show up in this window
                windows.append(max(0.0, state["last_old"] - written) * 1000 if converged else float("inf"))
                last_old.append(state["last_old_cache"] or "none")
                old = new
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=15)
    return Race(windows, last_old, state["errors"], used, latencies)


def _text(url: str) -> str:
    try:
        return httpx.get(url, timeout=10).text
    except httpx.HTTPError:
        return ""


def _wait_for(check: Any, seconds: float) -> bool:
    """Whether `check` came true within `seconds`."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def run(*, quick: bool, products: int, users: int, output: Path, race_only: bool = False) -> list[str]:
    """Run the whole scenario on a cluster of its own (with `race_only`, the warm-up and the purge race with
    every planned change, two VCLs compared side by side, no burst or hang); returns the BENCHMARKS.md section."""
    plan = Timeline.for_run(quick)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="storefront-chaos-") as tmp:
        cluster = Cluster(data_dir=Path(tmp))
        edges = []
        try:
            seeded = time.monotonic()
            subprocess.run(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "storefront", "seed", "--products", str(products)],
                env=cluster.env(),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            seed_seconds = time.monotonic() - seeded
            cluster.start_backends()
            edges, common = cluster.edges()
            origin = cluster.origin(STOREFRONT_PAGE_CACHE="off", STOREFRONT_CMS_CACHE_TTL="0", **common)
            invalidator = cluster.invalidator(STOREFRONT_ORIGIN_URL=origin, **common)
            for edge in edges:
                edge.origin_url = origin
                edge.start()
            catalog = cluster.backends["catalog"]
            listing = httpx.get(f"{catalog}/products", params={"region": "us", "page_size": 100}, timeout=30).json()
            slugs = [item["slug"] for item in listing["items"]]
            samples = output / "samples.csv"
            total = plan.warm + plan.before + plan.burst + plan.gap + plan.hang + plan.after + 600
            env = cluster.env(
                STOREFRONT_INVALIDATOR_URL=invalidator,
                STOREFRONT_LOADTEST_EDGES=json.dumps({e.region.code: e.url for e in edges}),
                STOREFRONT_LOADTEST_PROFILE="1x",
                STOREFRONT_LOADTEST_USERS=str(users),
                STOREFRONT_LOADTEST_STEP_SECONDS=str(total),
                STOREFRONT_LOADTEST_SAMPLES=str(samples),
                **common,
            )
            command = [
                sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / "locustfile.py"), "--headless",
                "--host", edges[0].url, "--stop-timeout", "5", "--only-summary",
            ]  # fmt: skip
            marks: dict[str, float] = {}
            with (
                OriginSampler(origin, invalidator) as sampler,
                Probe(origin, slugs) as probe,
                (output / "locust.log").open("wb") as log,
            ):
                locust = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
                time.sleep(plan.warm)
                if race_only:
                    race = _price_race(
                        edges[0].url,
                        cluster.backends["pricing"],
                        listing["items"][0],
                        plan.price_changes,
                        10**6,
                        _loaded_variants(edges[0]),
                    )
                    locust.send_signal(signal.SIGINT)
                    _wait(locust, deadline=time.monotonic() + 60)
                    return _race_section(plan, products, users, race)
                marks["before"] = time.time()
                time.sleep(plan.before)
                marks["burst"] = time.time()
                burst = asyncio.run(_burst(origin, slugs, plan.burst))
                marks["burst_end"] = time.time()
                time.sleep(plan.gap)
                marks["hang"] = time.time()
                with _stopped(cluster.processes[catalog]):
                    time.sleep(plan.hang)
                marks["resumed"] = time.time()
                time.sleep(plan.after)
                marks["after_end"] = time.time()
                product = listing["items"][0]
                race = _price_race(
                    edges[0].url, cluster.backends["pricing"], product, plan.price_changes, plan.race_budget
                )
                locust.send_signal(signal.SIGINT)
                _wait(locust, deadline=time.monotonic() + 60)
            return _section(plan, products, users, seed_seconds, marks, burst, race, sampler, probe, samples)
        finally:
            for edge in edges:
                edge.stop()
            cluster.close()


def _held_by_an_edge(rows: list[Sample]) -> set[int]:
    """The page requests (by `id`) for a page their edge had already answered with a 200: the copy it keeps.
    A page is its edge and canonical URL, as the edge's VCL keys it (tracking parameters dropped)."""
    answered: set[tuple[str, str]] = set()
    held: set[int] = set()
    for row in sorted(rows, key=lambda r: r[0]):
        if not row[5] or row[1].startswith(PRIVATE):
            continue
        parts = urlsplit(row[5])
        path = canonical_path(parts.path)
        kind = kind_of(path)
        page = (parts.netloc, f"{path}?{canonical_query(parts.query, kind.query if kind else ())}")
        if page in answered:
            held.add(id(row))
        elif row[3]:
            answered.add(page)
    return held


def _section(
    plan: Timeline,
    products: int,
    users: int,
    seed_seconds: float,
    marks: dict[str, float],
    burst: dict[str, int],
    race: Race,
    sampler: OriginSampler,
    probe: Probe,
    samples: Path,
) -> list[str]:
    rows = _load(samples) if samples.exists() else []
    windows = {
        "before": (marks["before"], marks["burst"]),
        "burst": (marks["burst"], marks["burst_end"]),
        "catalog hung": (marks["hang"], marks["resumed"]),
        "after": (marks["resumed"], marks["after_end"]),
    }
    held = _held_by_an_edge(rows)
    table = []
    for label, (start, end) in windows.items():
        inside = [r for r in rows if start <= r[0] < end]
        browsing = [r for r in inside if not r[1].startswith(PRIVATE)]
        stale = sum(r[4].startswith("STALE") for r in browsing)
        probes = [p for p in probe.rows if start <= p[0] < end]
        cached = [r for r in browsing if id(r) in held]
        cells = [
            label,
            f"{len(inside) / max(end - start, 1e-9):.0f}",
            f"{_pct([r[2] for r in browsing], 0.95):.0f} ms",
            f"**{sum(not r[3] for r in cached)}** of {len(cached)}",
            f"{sum(not r[3] for r in browsing if id(r) not in held)} of {len(browsing) - len(cached)}",
            f"{stale}",
            f"{sampler.rate(start, end, 1):.0f}",
            f"{_pct([p[2] for p in probes], 0.95):.0f} ms",
            f"{sum(p[1] == 200 for p in probes)}/{len(probes)}",
        ]
        table.append(f"| {' | '.join(cells)} |")
    recovered = next((p[0] for p in probe.rows if p[0] >= marks["resumed"] and p[1] == 200), None)
    recovery = f"{recovered - marks['resumed']:.1f} s" if recovered else "not within the run"
    failures = sum(not r[3] for r in rows)
    return [
        "## Chaos: 10x through the edges, a cache-busting burst, a hung catalog",
        "",
        f"A {products}-product shop (seeded in {seed_seconds:.0f} s); {users} locust shoppers through the three "
        "regions' Varnish edges (Zipf popularity over the whole catalog, 10% of page requests with random tracking "
        f"parameters), origin page cache off. After {plan.warm:.0f} s of warm-up: {plan.before:.0f} s calm, a "
        f"{plan.burst:.0f} s burst of 200 clients requesting random product pages with random tracking parameters "
        f"straight at the origin, then the catalog SIGSTOPped for {plan.hang:.0f} s, then {plan.after:.0f} s after. "
        "A probe asks the origin directly for a product page five times a second.",
        "",
        "Shopper errors are split by whether the page was cached: a page that edge had answered with a 200 "
        "earlier in the run (its copy is kept for the whole stale-if-error window), or one it never had.",
        "",
        "| window | shopper req/s at the edges | shopper p95 (pages) | errors, cached pages | errors, pages never "
        "cached | stale copies served by the edges | origin req/s | origin probe p95 | probe 200s |",
        "|---|---|---|---|---|---|---|---|---|",
        *table,
        "",
        f"- Burst at the origin: {', '.join(f'{count} x {status}' for status, count in sorted(burst.items()))} "
        "(503s are the quick refusals of load shedding, with `Retry-After`).",
        f"- Time to recover after the catalog resumed (first 200 from the origin probe): {recovery}.",
        f"- Shopper requests in the whole run: {len(rows)}, failed: {failures} (pages never cached at an edge fail "
        "while the catalog hangs: a product page needs the catalog).",
        f"- Purge race under the same load (a US price changed, 8 readers on its page through the US edge): time "
        f"from the price write to the last response showing the old price: {_race_line(race, plan)}.",
        "",
    ]


def _race_line(race: Race, plan: Timeline) -> str:
    settled = [w for w in race.windows if w != float("inf")]
    line = (
        f"median {_pct(settled, 0.5):.0f} ms, **p99 {_pct(settled, 0.99):.0f} ms**, max {max(settled):.0f} ms over "
        f"{len(settled)} changes"
        if settled
        else "no change settled"
    )
    if len(settled) < len(race.windows):
        line += f"; in {len(race.windows) - len(settled)} more the edge did not show the new price within 15 s"
    if len(race.windows) < plan.price_changes:
        line += f" ({len(race.windows)} of the planned {plan.price_changes} changes fitted in the race's budget)"
    slow = Counter(kind for window, kind in zip(race.windows, race.last_old, strict=False) if window > 1000)
    if slow:
        line += "; the last old copy in the changes over 1 s was " + ", ".join(
            f"{count} x {kind}" for kind, count in slow.most_common()
        )
    return line + f"; reader requests with no answer within 10 s: {race.errors}"


def _race_section(plan: Timeline, products: int, users: int, race: Race) -> list[str]:
    lines = [
        "## Purge race under load, two VCLs side by side",
        "",
        f"A {products}-product shop; {users} locust shoppers through the three regions' Varnish edges, origin page "
        f"cache off; after {plan.warm:.0f} s of warm-up, a US price changed {plan.price_changes} times in a row "
        "while 8 readers ask for its page through the US edge. The US edge alternates between two VCLs every "
        f"{RACE_BLOCK} changes (`vcl.use`; the cache is shared): `purged-served` serves a purged copy while a "
        "background fetch refreshes it, `purged-waits` makes shoppers wait for that refresh while the origin answers.",
        "",
        "| VCL | changes | old price outlived the write: median | p99 | max | last old copy served as | reader "
        "requests | reader p50 / p95 / max |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(race.variants):
        picked = [i for i, used in enumerate(race.variants) if used == name]
        windows = [race.windows[i] for i in picked]
        settled = [w for w in windows if w != float("inf")]
        kinds = Counter(race.last_old[i] for i in picked)
        cells = [
            f"`{name}`",
            f"{len(settled)} of {len(windows)} settled",
            f"{_pct(settled, 0.5):.0f} ms" if settled else "-",
            f"**{_pct(settled, 0.99):.0f} ms**" if settled else "-",
            f"{max(settled):.0f} ms" if settled else "-",
            ", ".join(f"{count} x {kind}" for kind, count in kinds.most_common()),
            f"{len(race.latencies.get(name, []))}",
            " / ".join(f"{_pct(race.latencies.get(name, []), q):.0f}" for q in (0.5, 0.95, 1.0)) + " ms",
        ]
        lines.append(f"| {' | '.join(cells)} |")
    lines += ["", f"Reader requests with no answer within 10 s: {race.errors}.", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes and short windows")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=600, help="shoppers (600 = 10x the load test's 1x of 60)")
    parser.add_argument("--output", type=Path, default=ROOT / "loadtest-report" / "chaos")
    parser.add_argument("--race-only", action="store_true", help="only the warm-up and the purge race")
    args = parser.parse_args(argv)
    section = run(
        quick=args.quick, products=args.products, users=args.users, output=args.output, race_only=args.race_only
    )
    print("\n".join(section))
    return 0


if __name__ == "__main__":
    stop_children_on_sigterm()
    raise SystemExit(main())
