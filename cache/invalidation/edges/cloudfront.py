"""CloudFront (`STOREFRONT_CLOUDFRONT_*`): no surrogate keys, so keys become paths, purged with `CreateInvalidation`."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

import httpx

from cache.canonical import PAGE_KINDS, SHOP_PREFIX, PageKind
from cache.invalidation.edges.base import EdgeError, EdgeKind, check_response, register
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.targets import EdgeId
from cache.keys import DEPLOY

API_VERSION = "2020-05-31"
# CloudFront's documented limits: 3,000 paths in one invalidation request, and 15 wildcard paths in progress
# per distribution (so no one request may carry more). Going over the in-progress limits is refused with
# HTTP 400 TooManyInvalidationsInProgress, which the purger retries with backoff like a throttle (429).
MAX_PATHS = 3000
MAX_WILDCARDS = 15
_THROTTLED = ("TooManyInvalidationsInProgress", "Throttling")
_REGEX = re.compile(r"(?:[^\\\[\](){}?*+|^$.]|\\.)*")  # the fixed start of a page kind's path pattern


def _page_kind_paths(kind: PageKind, region: str) -> tuple[str, ...]:
    if kind.path.startswith(SHOP_PREFIX):
        return _region_paths(region)
    fixed = _REGEX.match(kind.path).group()  # type: ignore[union-attr]  # matches at least ""
    literal = re.sub(r"\\(.)", r"\1", fixed)
    return (literal,) if fixed == kind.path else (f"{literal or '/'}*",)


def _region_paths(region: str) -> tuple[str, ...]:
    # Without a key-to-URL index, a region's key can be on any of its pages: its shop (`/us/…`), its
    # sitemaps, and the two region-less pages that carry region keys (the region chooser, the sitemap index).
    return (f"/{region}/*", f"/sitemaps/{region}/*", "/regions", "/sitemap.xml")


def key_paths(keys: Iterable[str], region: str) -> list[str]:
    """The paths whose pages may carry `keys` in `region`: a page kind's own path for `page:{kind}` when it
    names one, everything for `deploy`, and the region's path-prefix wildcards for every other key."""
    kinds = {f"page:{kind.name}": kind for kind in PAGE_KINDS}
    paths: set[str] = set()
    for key in keys:
        if key == DEPLOY:
            paths.add("/*")
        elif key in kinds:
            paths.update(_page_kind_paths(kinds[key], region))
        else:
            paths.update(_region_paths(region))
    return sorted(paths)


def _uncovered(paths: Iterable[str]) -> list[str]:
    """`paths` without those a wildcard among them already covers (each wildcard costs one of the 15)."""
    unique = sorted(set(paths))
    prefixes = [p[:-1] for p in unique if p.endswith("*")]
    return [p for p in unique if not any(p != f"{prefix}*" and p.startswith(prefix) for prefix in prefixes)]


def batches(paths: Sequence[str]) -> list[list[str]]:
    """Invalidation batches of at most 3,000 paths, each with at most 15 wildcards."""
    out: list[list[str]] = [[]]
    wildcards = 0
    for path in paths:
        wild = path.endswith("*")
        if len(out[-1]) == MAX_PATHS or (wild and wildcards == MAX_WILDCARDS):
            out.append([])
            wildcards = 0
        out[-1].append(path)
        wildcards += wild
    return [batch for batch in out if batch]


def invalidation_batch(paths: Sequence[str], caller_reference: str) -> bytes:
    items = "".join(f"<Path>{escape(path)}</Path>" for path in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/{API_VERSION}/">'
        f"<Paths><Quantity>{len(paths)}</Quantity><Items>{items}</Items></Paths>"
        f"<CallerReference>{escape(caller_reference)}</CallerReference>"
        "</InvalidationBatch>"
    ).encode()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_headers(
    method: str,
    url: str,
    body: bytes,
    *,
    key_id: str,
    secret: str,
    now: datetime,
    session_token: str = "",
    region: str = "us-east-1",  # CloudFront is global; its API is signed for us-east-1
    service: str = "cloudfront",
) -> dict[str, str]:
    """The headers that sign a request with AWS Signature Version 4 (no query string; boto3 is not needed)."""
    parts = urlsplit(url)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"host": parts.netloc, "x-amz-date": stamp} | (
        {"x-amz-security-token": session_token} if session_token else {}
    )
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/-_.~"),
            parts.query,
            *(f"{name}:{headers[name]}" for name in sorted(headers)),
            "",
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(f"AWS4{secret}".encode(), stamp[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return headers | {
        "authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
    }


@dataclass
class CloudFrontAdapter:
    """CreateInvalidation for one distribution: keys turned into paths, URLs as given, batched to the limits.

    CloudFront has no soft purge: every purge is a hard invalidation.
    """

    distribution_id: str
    key_id: str
    secret: str
    client: httpx.AsyncClient
    api: str = "https://cloudfront.amazonaws.com"
    session_token: str = ""

    @property
    def name(self) -> str:
        return f"cloudfront {self.distribution_id}"

    async def purge(self, region: str, keys: Sequence[str], urls: Sequence[str], *, soft: bool) -> int:
        paths = _uncovered([*key_paths(keys, region), *urls])
        url = f"{self.api}/{API_VERSION}/distribution/{self.distribution_id}/invalidation"
        try:
            # A batch refused half-way fails the whole delivery; the retry sends every batch again, which costs
            # a few repeated paths but never leaves one out.
            for batch in batches(paths):
                body = invalidation_batch(batch, uuid.uuid4().hex)
                headers = sigv4_headers(
                    "POST",
                    url,
                    body,
                    key_id=self.key_id,
                    secret=self.secret,
                    now=datetime.now(UTC),
                    session_token=self.session_token,
                )
                response = await self.client.post(url, content=body, headers=headers | {"content-type": "text/xml"})
                if response.status_code == 429 or (
                    response.status_code in (400, 503) and any(code in response.text for code in _THROTTLED)
                ):
                    raise EdgeError(f"{self.name}: throttled (HTTP {response.status_code}); retrying")
                check_response(response, self.name)
        except httpx.HTTPError as exc:
            raise EdgeError(f"{self.name}: {type(exc).__name__}") from exc
        return len(paths)


@register
@dataclass(frozen=True)
class CloudFront(EdgeKind):
    """`{ kind = "cloudfront", distribution_id = "…" }`; on when the environment has CloudFront credentials."""

    key_id: str
    secret: str
    session_token: str
    api: str
    kind = "cloudfront"
    ref_field = "distribution_id"
    by_key = False
    # An invalidation skips objects being fetched while it runs, like a key purge: deliver it again.
    followup = True

    @classmethod
    def configure(cls, settings: InvalidatorSettings, env: Mapping[str, str]) -> Self | None:
        key_id = env.get("STOREFRONT_CLOUDFRONT_ACCESS_KEY_ID", "")
        secret = env.get("STOREFRONT_CLOUDFRONT_SECRET_ACCESS_KEY", "")
        if not key_id or not secret:
            return None
        return cls(
            key_id,
            secret,
            env.get("STOREFRONT_CLOUDFRONT_SESSION_TOKEN", ""),
            env.get("STOREFRONT_CLOUDFRONT_API", "https://cloudfront.amazonaws.com").rstrip("/"),
        )

    def adapter(self, edge: EdgeId, client: httpx.AsyncClient) -> CloudFrontAdapter:
        return CloudFrontAdapter(edge.ref, self.key_id, self.secret, client, self.api, self.session_token)
