"""The `storefront` command: `up` runs the stack, `seed` writes demo data, `db` migrates, `serve` runs one service."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from stack.processes import SERVICES, run_stack, serve
from stack.profiles import ProfileUnavailable
from stack.settings import Settings
from stack.supervisor import Unit

_MIGRATED = ("checkout", "catalog", "pricing", "cms", "invalidator")  # the services with a database


def _positive(text: str) -> int:
    value = int(text)
    if value < 1 or value > 100_000:
        raise argparse.ArgumentTypeError("must be between 1 and 100000")
    return value


def _seed(settings: Settings, products: int, seed: int, reset: bool) -> int:
    from backends.seed import seed_all

    report = asyncio.run(seed_all(settings, products=products, seed=seed, reset=reset))
    if report.seeded:
        print(
            f"seeded {report.products} products, {report.variants} variants, {report.entries} CMS entries, "
            f"{report.images} images in {report.seconds:.1f}s (data in {settings.data_dir})"
        )
    else:
        print(f"already seeded (data in {settings.data_dir}); use --reset to start over")
    return 0


def _db(settings: Settings, command: str, names: list[str] | None, revision: str = "head") -> int:
    """`storefront db upgrade|current|history`, service by service; `up` runs `upgrade` for all before serving."""
    from stack.migrations import describe_current, describe_history, upgrade_all

    if command == "history":
        print(*describe_history(names), sep="\n")
        return 0
    for name in names or _MIGRATED:
        try:
            if command == "current":
                lines = asyncio.run(describe_current(settings, [name]))
            else:
                lines = [result.describe() for result in asyncio.run(upgrade_all(settings, [name], revision))]
        except Exception as exc:  # an unreachable database, an unknown revision, a failed migration (rolled back)
            print(f"{name}: db {command} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(*lines, sep="\n", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storefront", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="seed an empty database, start every service, print the URLs")
    up.add_argument("--products", type=_positive, default=300, help="products to seed if empty (300)")
    up.add_argument("--seed", type=int, default=42, help="random seed for the demo data (42)")
    up.add_argument(
        "--edge",
        choices=("origin", "varnish"),
        help="who caches pages: the origin itself (the embedded default) or Varnish nodes per region",
    )
    up.add_argument(
        "--profile",
        choices=("embedded", "production"),
        default="embedded",
        help="embedded (default): SQLite, one process per service; production: PostgreSQL, Redis, "
        "2 workers per service and 2 Varnish nodes per region (see README)",
    )

    edge = commands.add_parser("edge", help="edge configuration")
    edge_commands = edge.add_subparsers(dest="edge_command", required=True)
    vcl = edge_commands.add_parser("vcl", help="print a region's VCL")
    vcl.add_argument("--region", required=True)

    purge = commands.add_parser("purge", help="purge keys or URLs through the purge API, and wait for the receipt")
    purge.add_argument("--key", action="append", default=[], help="a surrogate key (repeatable)")
    purge.add_argument("--url", action="append", default=[], help="a path such as /eu/de/ (repeatable)")
    purge.add_argument("--region", action="append", default=[], help="a region code (repeatable); default all")
    purge.add_argument("--hard", action="store_true", help="drop the pages instead of marking them stale")

    load = commands.add_parser(
        "loadtest", help="start the stack behind Varnish, run locust against the edges, write a report"
    )
    load.add_argument("--profile", choices=("1x", "10x", "step"), default="1x", help="step: 1x, 2x, 5x, 10x")
    load.add_argument("--duration", default="60s", help="how long the profile (each step, for step) runs: 60s, 2m")
    load.add_argument("--users", type=_positive, default=30, help="shoppers at 1x (30)")
    load.add_argument("--products", type=_positive, default=60, help="products in the load-test shop (60)")
    load.add_argument("--output", type=Path, default=Path("loadtest-report"), help="report folder")

    funnel = commands.add_parser("funnel", help="print checkout step-to-step conversion from the checkout service")
    funnel.add_argument("--region", help="one region (default all)")
    funnel.add_argument("--hours", type=float, help="only carts that reached a step in the last N hours")

    seed = commands.add_parser("seed", help="write deterministic demo data")
    seed.add_argument("--products", type=_positive, default=300)
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--reset", action="store_true", help="drop and recreate the tables first")

    db = commands.add_parser("db", help="schema migrations (Alembic) of every service's database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    for name, text in (
        ("upgrade", "upgrade each database (an unversioned one made by create_all is stamped first)"),
        ("current", "print each database's revision"),
        ("history", "list each service's revisions"),
    ):
        sub = db_commands.add_parser(name, help=text)
        sub.add_argument("--service", action="append", choices=_MIGRATED, help="one service (repeatable); default all")
        if name == "upgrade":
            sub.add_argument("--revision", default="head", help="the revision to reach (head)")

    images = commands.add_parser("images", help="the image pipeline")
    image_commands = images.add_subparsers(dest="images_command", required=True)
    ingest = image_commands.add_parser("ingest", help="store every image in a folder (and its common variants)")
    ingest.add_argument("directory", type=Path)
    ingest.add_argument("--no-eager", action="store_true", help="skip making the common widths now")
    image_commands.add_parser("build", help="make every missing variant of every stored original")

    run = commands.add_parser("serve", help="run one service in the foreground")
    run.add_argument("service", choices=sorted(SERVICES))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    infrastructure: list[Unit] = []
    if args.command == "up" and args.profile == "production":
        if args.edge == "origin":
            print("the production profile runs Varnish edges: leave out --edge origin", file=sys.stderr)
            return 2
        try:
            infrastructure = _production_profile()
        except (ProfileUnavailable, ValueError) as exc:
            print(f"production profile: {exc}", file=sys.stderr)
            return 1
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "seed":
        return _seed(settings, args.products, args.seed, args.reset)
    if args.command == "db":
        return _db(settings, args.db_command, args.service, getattr(args, "revision", "head"))
    if args.command == "edge":
        from edge_config.vcl import render_vcl

        region = settings.regions.get(args.region)
        if region is None:
            print(f"unknown region {args.region!r}; known: {', '.join(settings.regions.codes)}", file=sys.stderr)
            return 2
        print(render_vcl(region, settings.origin.url, geo_header=settings.origin.geo_header.title()))
        return 0
    if args.command == "loadtest":
        return _loadtest(args)
    if args.command == "funnel":
        return _funnel(settings, args.region, args.hours)
    if args.command == "purge":
        return _purge(settings, args.key, args.url, args.region, hard=args.hard)
    if args.command == "images":
        from image_pipeline.cli import build_all, ingest_dir
        from image_pipeline.store import ImageStore

        store = ImageStore(settings.origin.images_dir, settings.origin.image_encoding)
        if args.images_command == "ingest":
            if not args.directory.is_dir():
                print(f"{args.directory} is not a folder", file=sys.stderr)
                return 2
            return ingest_dir(store, args.directory, eager=not args.no_eager)
        return build_all(store)
    if args.command == "serve":
        serve(settings, args.service)
        return 0
    edge = args.edge or ("varnish" if args.profile == "production" else "origin")
    if _db(settings, "upgrade", None) != 0:
        return 1
    _seed(settings, args.products, args.seed, reset=False)
    return run_stack(settings, edge=edge, infrastructure=infrastructure)


def _production_profile() -> list[Unit]:
    """Set the production profile's variables for this process and its children; create its PostgreSQL database;
    return the Redis to start first when no `STOREFRONT_REDIS_URL` names one."""
    from backends.common.settings import DATA_DIR
    from stack.profiles import RedisUnit, apply_production_defaults, ensure_database

    apply_production_defaults(os.environ)
    ensure_database(os.environ["STOREFRONT_DATABASE_URL"])
    if os.environ.get("STOREFRONT_REDIS_URL"):
        return []
    redis = RedisUnit(DATA_DIR.read(os.environ) / "redis")
    os.environ["STOREFRONT_REDIS_URL"] = redis.url
    return [redis]


def _purge(settings: Settings, keys: list[str], urls: list[str], regions: list[str], *, hard: bool) -> int:
    import time

    import httpx

    api = settings.invalidator.url
    headers = {"Authorization": f"Bearer {settings.invalidator.admin_token}"}
    body = {"keys": keys, "urls": urls, "regions": regions or "all", "soft": not hard}
    try:
        response = httpx.post(f"{api}/admin/purges", json=body, headers=headers, timeout=10)
        if response.status_code != 202:
            print(f"refused ({response.status_code}): {response.text}", file=sys.stderr)
            return 1
        receipt_url = f"{api}{response.json()['receipt']}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            receipt = httpx.get(receipt_url, headers=headers, timeout=10).json()
            if receipt["complete"]:
                for code, region in receipt["regions"].items():
                    print(f"{code}: acknowledged {region['acknowledged_at']}")
                return 0
            time.sleep(0.1)
    except httpx.HTTPError as exc:
        print(f"the purge API at {api} did not answer: {exc}", file=sys.stderr)
        return 1
    print(f"not acknowledged within 30 s; see {receipt_url}", file=sys.stderr)
    return 1


def _funnel(settings: Settings, region: str | None, hours: float | None) -> int:
    import httpx

    params = {k: v for k, v in {"region": region, "hours": hours}.items() if v is not None}
    headers = {"Authorization": f"Bearer {settings.checkout.admin_token}"}
    try:
        response = httpx.get(f"{settings.checkout.url}/admin/funnel", params=params, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        print(f"the checkout service at {settings.checkout.url} did not answer: {exc}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"refused ({response.status_code}): {response.text}", file=sys.stderr)
        return 1
    scope = f"region {region}" if region else "all regions"
    print(f"Checkout funnel, {scope}" + (f", last {hours:g} h" if hours else "") + ":")
    print(f"  {'step':<10} {'carts':>7} {'from previous':>14} {'from cart':>10}")
    for row in response.json()["steps"]:
        prev = f"{row['from_previous']:.1%}" if row["from_previous"] is not None else "-"
        start = f"{row['from_start']:.1%}" if row["from_start"] is not None else "-"
        print(f"  {row['step']:<10} {row['carts']:>7} {prev:>14} {start:>10}")
    return 0


def _loadtest(args: argparse.Namespace) -> int:
    from loadtests.loadtest import parse_duration, run

    try:
        seconds = parse_duration(args.duration)
    except (ValueError, IndexError):
        print(f"--duration: expected something like 60s or 2m, got {args.duration!r}", file=sys.stderr)
        return 2
    figures = run(
        profile=args.profile, step_seconds=seconds, users=args.users, output=args.output, products=args.products
    )
    print((args.output / "summary.md").read_text())
    print(f"report in {args.output.resolve()}")
    return 0 if figures["failures"] == 0 and figures["locust_exit_code"] == 0 else 1
