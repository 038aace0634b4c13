"""The storefront image's HEALTHCHECK: asks the service this container serves what `storefront up` asks it.

The container's first process is `storefront serve NAME` (or a one-shot such as `storefront db upgrade`, which
counts as healthy while it runs). The probe is the one `ServiceUnit.healthy` in stack/processes.py uses: the
origin's `/livez` (its `/healthz` is 503 while it sheds load, and a busy origin is alive), every other service's
`/healthz` (200 once its database answers). Exit 0 when it answers 200, 1 otherwise. No curl in the image: httpx.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from backends.common.settings import (
    CATALOG_URL,
    CHECKOUT_URL,
    CMS_URL,
    INVALIDATOR_URL,
    ORIGIN_URL,
    PRICING_URL,
)

URLS = {
    "catalog": CATALOG_URL,
    "pricing": PRICING_URL,
    "cms": CMS_URL,
    "checkout": CHECKOUT_URL,
    "origin": ORIGIN_URL,
    "invalidator": INVALIDATOR_URL,
}
PROBES = {"origin": "/livez"}  # everyone else: /healthz


def served(cmdline: bytes) -> str | None:
    """NAME in `... storefront serve NAME`, else None."""
    args = [arg.decode() for arg in cmdline.split(b"\0") if arg]
    if "serve" in args and args.index("serve") + 1 < len(args):
        return args[args.index("serve") + 1]
    return None


def probe_url(name: str, env: dict[str, str]) -> str:
    """Where this container's service answers: its URL's port, on loopback (it binds STOREFRONT_LISTEN_HOST)."""
    port = urlsplit(URLS[name].read(env)).port or 80
    return f"http://127.0.0.1:{port}{PROBES.get(name, '/healthz')}"


def main() -> int:
    name = served(Path("/proc/1/cmdline").read_bytes())
    if name is None:
        return 0  # a one-shot command: healthy while it runs
    try:
        return 0 if httpx.get(probe_url(name, dict(os.environ)), timeout=2.0).status_code == 200 else 1
    except httpx.HTTPError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
