"""HEAD wherever GET works (RFC 9110 §9.3.2): monitors, link checkers and CDNs send it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Controller, Router
from litestar.config.app import AppConfig
from litestar.handlers import HTTPRouteHandler


def head_for_every_get(config: AppConfig) -> AppConfig:
    """An `on_app_init` hook: every GET handler also answers HEAD (the server sends the headers only)."""
    _add_head(config.route_handlers)
    return config


def _add_head(handlers: Iterable[Any]) -> None:
    for handler in handlers:
        if isinstance(handler, HTTPRouteHandler):
            if "GET" in handler.http_methods:
                handler.http_methods.add("HEAD")
        elif isinstance(handler, Router):
            _add_head(handler.route_handlers)
        elif isinstance(handler, type) and issubclass(handler, Controller):
            _add_head(vars(handler).values())
