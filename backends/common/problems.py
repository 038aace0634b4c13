"""RFC 9457 problem-details responses for every error a backend returns."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger(__name__)


def problem(
    status: int, title: str, detail: str | None = None, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def invalid(field: str, message: str, source: str = "query") -> ValidationException:
    """A 422 naming the offending field, for checks the type system cannot express."""
    return ValidationException(
        detail=f"Invalid {field}: {message}", extra=[{"key": field, "message": message, "source": source}]
    )


def _invalid_params(exc: ValidationException) -> list[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    params = []
    for item in extra:
        if isinstance(item, dict):
            params.append({"name": item.get("key") or "body", "reason": str(item.get("message", ""))})
    return params


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    params = _invalid_params(exc)
    detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params) or exc.detail
    return problem(HTTP_422_UNPROCESSABLE_ENTITY, "Invalid request", detail, **{"invalid-params": params})


def http_exception_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    title = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
    }
    return problem(
        exc.status_code,
        title.get(exc.status_code, "Request failed"),
        exc.detail if exc.detail and exc.detail != title.get(exc.status_code) else None,
        headers=exc.headers,
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The route template, never the path: a path may carry a cart id or another token.
    route = request.scope.get("path_template", "(unrouted)")
    _log.exception("unhandled error on %s %s", request.method, route, exc_info=exc)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "Internal error", "The error was logged.")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ValidationException: validation_handler,
    HTTPException: http_exception_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
