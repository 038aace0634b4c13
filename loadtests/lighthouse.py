"""Lighthouse on the shop's pages through a Varnish edge: scores, LCP, CLS and bytes, summarised for BENCHMARKS.md.

Lighthouse is an npm package pinned in `loadtests/node/package-lock.json`; `installed()` runs `npm ci` there
on first use. Chromium is Debian's (`/usr/bin/chromium`, or `CHROME_PATH`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).with_name("node")  # package.json, its lock and node_modules
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
_NOT_SCORED = {"informative", "notApplicable", "manual", "error"}
RUN_TIMEOUT = 180  # seconds one Lighthouse run may take on a loaded 2-core machine


class LighthouseUnavailable(RuntimeError):
    """Node, npm or Chromium is missing, or the pinned Lighthouse could not be installed."""


def chromium() -> str:
    path = os.environ.get("CHROME_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise LighthouseUnavailable("Chromium is not installed (apt-get install chromium)")
    return path


def installed() -> Path:
    """The pinned `lighthouse` binary, installed with `npm ci` the first time."""
    binary = HERE / "node_modules" / ".bin" / "lighthouse"
    if binary.exists():
        return binary
    if shutil.which("npm") is None:
        raise LighthouseUnavailable("npm is not installed (apt-get install npm), so Lighthouse cannot be")
    done = subprocess.run(  # noqa: S603 - npm from PATH, arguments we build
        ["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not binary.exists():
        raise LighthouseUnavailable(f"npm ci in {HERE} failed: {done.stderr[-600:]}")
    return binary


def run(url: str, *, cpu_slowdown: float | None = None) -> dict[str, Any]:
    """One Lighthouse run (mobile, its default form factor and simulated throttling) and its JSON report;
    `cpu_slowdown` replaces the default 4x CPU slowdown."""
    command = [
        str(installed()),
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
    ]
    if cpu_slowdown is not None:
        command.append(f"--throttling.cpuSlowdownMultiplier={cpu_slowdown:g}")
    done = subprocess.run(  # noqa: S603 - the pinned binary, arguments we build
        command,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        env=os.environ | {"CHROME_PATH": chromium()},
    )
    if done.returncode != 0:
        raise RuntimeError(f"lighthouse {url} exited {done.returncode}: {done.stderr[-600:]}")
    return json.loads(done.stdout)


@dataclass(frozen=True)
class Summary:
    scores: dict[str, int]  # category -> 0..100
    lcp_ms: float
    cls: float
    transfer_bytes: int
    image_bytes: int  # of transfer_bytes
    image_requests: int
    failing: dict[str, list[str]]  # category below 100 -> the ids of its audits that did not pass

    def row(self, page: str) -> str:
        scores = " | ".join(str(self.scores.get(category, "-")) for category in CATEGORIES)
        failing = "; ".join(f"{category}: {', '.join(ids)}" for category, ids in self.failing.items()) or "-"
        return (
            f"| {page} | {scores} | {self.lcp_ms / 1000:.2f} s | {self.cls:.3f} | "
            f"{self.transfer_bytes / 1024:.1f} KB | {self.image_bytes / 1024:.1f} KB ({self.image_requests}) | "
            f"{failing} |"
        )


def failed_row(page: str, error: Exception) -> str:
    """A page whose run failed keeps its row, so one bad run does not cost the others' figures."""
    reason = " ".join(str(error).split())[:160].replace("|", "/")
    return f"| {page} | {' | '.join('-' for _ in CATEGORIES)} | - | - | - | - | run failed: {reason} |"


HEADER = [
    "| page | performance | accessibility | best practices | SEO | LCP | CLS | transferred | of which images "
    "(requests) | audits not passed |",
    "|---|---|---|---|---|---|---|---|---|---|",
]


def summarise(report: dict[str, Any]) -> Summary:
    """Scores, LCP, CLS, bytes transferred, and, for each category under 100, the audits that cost it points."""
    audits = report["audits"]
    images = next(
        (
            item
            for item in audits.get("resource-summary", {}).get("details", {}).get("items", [])
            if item.get("resourceType") == "image"
        ),
        {},
    )
    scores, failing = {}, {}
    for category in CATEGORIES:
        found = report["categories"].get(category)
        if found is None or found.get("score") is None:
            continue
        scores[category] = round(found["score"] * 100)
        if scores[category] < 100:
            failing[category] = [
                ref["id"]
                for ref in found["auditRefs"]
                if ref.get("weight", 0) > 0
                and audits.get(ref["id"], {}).get("scoreDisplayMode") not in _NOT_SCORED
                and (audits.get(ref["id"], {}).get("score") is not None)
                and audits[ref["id"]]["score"] < 1
            ]
    return Summary(
        scores=scores,
        lcp_ms=float(audits["largest-contentful-paint"]["numericValue"]),
        cls=float(audits["cumulative-layout-shift"]["numericValue"]),
        transfer_bytes=int(audits["total-byte-weight"]["numericValue"]),
        image_bytes=int(images.get("transferSize", 0)),
        image_requests=int(images.get("requestCount", 0)),
        failing=failing,
    )
