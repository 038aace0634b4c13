"""What every page shares: the region/locale from the path, the CMS chrome, errors as HTML pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from backends.common.problems import http_exception_handler, internal_error_handler, problem, validation_handler
from cache import keys as k
from cache.keys import SurrogateKeys
from cms_client import CmsClient
from edge_config import Region
from storefront.loader import PageLoad, UpstreamError
from storefront.render import uncacheable_response
from storefront.upstreams import Upstreams

PAGE_SIZE = 24


class PageError(Exception):
    """Ends a page with an HTML error page (400, 404, 503)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def upstream_failure(exc: UpstreamError, what: str) -> PageError:
    """A critical read failed: 404 if the upstream said "no such thing", 400 if it refused the request as
    malformed (the shopper's URL), 503 only when it could not answer."""
    if exc.not_found:
        return PageError(404, "Not found", f"We couldn't find that {what}.")
    if exc.refused:
        return PageError(400, "That address doesn't work", f"This {what} address or its filters are not valid.")
    return PageError(503, "Temporarily unavailable", "Part of the shop is not answering. Please try again shortly.")


@dataclass(frozen=True, slots=True)
class Shop:
    region: Region
    locale: str

    @property
    def lang(self) -> str:
        return self.locale.split("-")[0]

    @property
    def base(self) -> str:
        return f"/{self.region.code}/{self.lang}"

    def href(self, path: str) -> str:
        """CMS links are region-relative ("/c/jackets"); absolute URLs pass through."""
        return f"{self.base}{path}" if path.startswith("/") and not path.startswith("//") else path


def shop_for(request: Request[Any, Any, Any], region: str, lang: str) -> Shop:
    found = request.app.state.settings.regions.get(region)
    if found is None:
        raise PageError(404, "Region not found", f"We do not sell in “{region}”. Choose a region below.")
    locale = next((code for code in found.locales if code.split("-")[0] == lang), None)
    if locale is None:
        raise PageError(404, "Language not available", f"This region's shop is not available in “{lang}”.")
    return Shop(found, locale)


def new_load(shop: Shop, kind: str) -> PageLoad:
    return PageLoad(keys=SurrogateKeys(region=shop.region.code, kind=kind))


def upstreams(request: Request[Any, Any, Any]) -> Upstreams:
    return request.app.state.upstreams


def chrome_loads(request: Request[Any, Any, Any], load: PageLoad, shop: Shop) -> dict[str, Any]:
    """Navigation and footer reads, to run alongside the page's own (optional: pages render without them)."""
    cms: CmsClient = request.app.state.cms
    budget = request.app.state.settings.cms_timeout
    return {
        "nav": load.read(
            "cms-nav", budget, lambda: cms.entries(shop.locale, type="navigation", on_stale=stale(load, "nav"))
        ),
        "footer": load.read(
            "cms-footer", budget, lambda: cms.entries(shop.locale, type="footer", on_stale=stale(load, "footer"))
        ),
    }


def stale(load: PageLoad, name: str) -> Callable[[], None]:
    """What the CMS client calls when it answers `name` from a last-good copy: the page is degraded."""
    return lambda: load.degrade(name)


def cms_read(request: Request[Any, Any, Any], load: PageLoad, shop: Shop, name: str, **query: str) -> Any:
    """A CMS list read (published entries of one type) within the CMS budget."""
    cms: CmsClient = request.app.state.cms
    return load.read(
        name,
        request.app.state.settings.cms_timeout,
        lambda: cms.entries(shop.locale, **query, on_stale=stale(load, name)),
    )


def chrome_context(results: dict[str, Any], load: PageLoad, shop: Shop) -> dict[str, Any]:
    nav = cms_keys(load, results.get("nav"), k.NAV)
    footer = cms_keys(load, results.get("footer"), k.NAV)
    return {
        "shop": shop,
        "locale": shop.locale,
        "nav": nav[0]["fields"]["items"] if nav else [],
        "footer": footer[0]["fields"] if footer else None,
    }


def cms_keys(load: PageLoad, data: dict[str, Any] | None, *extra: str) -> list[dict[str, Any]]:
    if not data:
        return []
    load.keys.add(*(k.cms(item["id"]) for item in data["items"]), *extra)
    load.changes_at(data.get("next_change_at"))
    return data["items"]


# Routes for machines (purgers, metrics, uploads, the checkout's live quote): errors as problem details.
MACHINE_PATHS = ("/internal/", "/admin/", "/fragments/")


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if request.url.path.startswith(MACHINE_PATHS) or "/checkout/quote" in request.url.path:
        return _problem(request, exc)
    if isinstance(exc, PageError):
        status, title, message = exc.status, exc.title, exc.message
    elif isinstance(exc, NotFoundException):
        status, title, message = 404, "Page not found", "There is nothing at this address."
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        status, title, message = exc.status_code, "Bad request", "We could not understand that request."
    else:
        request.logger.exception("page failed", exc_info=exc)
        status, title, message = 500, "Something went wrong", "The error was logged. Please try again shortly."
    env = request.app.state.templates
    regions = list(request.app.state.settings.regions)
    response = uncacheable_response(
        env,
        "error.html",
        {"status": status, "title": title, "message": message, "regions": regions, "locale": "en-US", "shop": None},
        status_code=status,
    )
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)  # `Allow` on a 405, `Retry-After` on a 503
    return response


def _problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, ValidationException):
        return validation_handler(request, exc)
    if isinstance(exc, HTTPException):
        return http_exception_handler(request, exc)
    if isinstance(exc, PageError):
        return problem(exc.status, exc.title, exc.message, headers={"Cache-Control": "no-store"})
    return internal_error_handler(request, exc)


ERROR_HANDLERS = {Exception: error_page, HTTP_500_INTERNAL_SERVER_ERROR: error_page}
