"""Jinja2 environment and locale-aware filters (Babel), and the response every page returns."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar import MediaType, Response

from backends.common import utcnow
from backends.common.money import to_decimal
from cache.policy import DEGRADED_HEADER, PRIVATE_HEADERS, CachePolicy
from image_pipeline.store import ImageStore
from storefront.loader import PageLoad


def _babel_locale(context: Context) -> str:
    return str(context.get("locale", "en-US")).replace("-", "_")


@pass_context
def money(context: Context, value: dict[str, str] | None) -> str:
    if not value:
        return ""
    return format_currency(Decimal(value["amount"]), value["currency"], locale=_babel_locale(context))


@pass_context
def minor_money(context: Context, minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    return format_currency(to_decimal(minor, currency), currency, locale=_babel_locale(context))


@pass_context
def date(context: Context, iso: str | None) -> str:
    if not iso:
        return ""
    return format_date(datetime.fromisoformat(iso), format="long", locale=_babel_locale(context))


def query(keep: dict[str, Any], **overrides: Any) -> str:
    """A query string from the page's active filters with some values replaced (pagination links)."""
    return urlencode({**keep, **overrides}, doseq=True)


def create_environment(templates_dir: Path, images: ImageStore) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        enable_async=False,
    )
    env.filters.update(money=money, minor_money=minor_money, date=date)
    env.globals["query"] = query
    env.globals["image_record"] = images.record  # placeholder and colour behind every <picture>
    return env


def page_response(
    env: Environment,
    template: str,
    context: dict[str, Any],
    load: PageLoad,
    policy: CachePolicy,
    *,
    status_code: int = 200,
) -> Response[str]:
    """Render a cacheable page with the whole cache contract: TTL, surrogate keys, Server-Timing."""
    started = time.perf_counter()
    html = env.get_template(template).render(**context)
    load.timed("render", started)
    ttl = policy.ttl_until(utcnow(), load.next_change, degraded=bool(load.degraded))
    headers = {**policy.headers(ttl), **load.keys.headers(), "Server-Timing": load.server_timing()}
    if load.degraded:
        # Edges keep a good stale copy rather than replace it with this one (see the VCL and page cache).
        headers[DEGRADED_HEADER] = ", ".join(load.degraded)
    return Response(html, status_code=status_code, media_type=MediaType.HTML, headers=headers)


def uncacheable_response(
    env: Environment, template: str, context: dict[str, Any], *, status_code: int, private: bool = False
) -> Response[str]:
    """Error pages and personal pages: never stored by any cache."""
    html = env.get_template(template).render(**context)
    headers = dict(PRIVATE_HEADERS) if private else {"Cache-Control": "no-store"}
    return Response(html, status_code=status_code, media_type=MediaType.HTML, headers=headers)
