"""The `storefront` command: `up` runs the stack, `seed` writes demo data, `serve` runs one service."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from storefront.settings import Settings
from storefront.stack import SERVICES, run_stack, serve


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storefront", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="seed an empty database, start every service, print the URLs")
    up.add_argument("--products", type=_positive, default=300, help="products to seed if empty (300)")
    up.add_argument("--seed", type=int, default=42, help="random seed for the demo data (42)")

    seed = commands.add_parser("seed", help="write deterministic demo data")
    seed.add_argument("--products", type=_positive, default=300)
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--reset", action="store_true", help="drop and recreate the tables first")

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
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "seed":
        return _seed(settings, args.products, args.seed, args.reset)
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
    _seed(settings, args.products, args.seed, reset=False)
    return run_stack(settings)
