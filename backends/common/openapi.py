"""Each service's OpenAPI 3.1 document: problem-details errors, bearer security, region and locale enums."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute

from backends.common.auth import require_token
from backends.common.problems import PROBLEM_JSON
from edge_config import RegionCatalogue

SCHEMA_PATH = "/schema"  # the document is served at /schema/openapi.json, Scalar's viewer at /schema
# Which security scheme documents each token setting a guarded route may name in `opt["token_setting"]`.
SCHEMES = {"editor_token": "editor", "preview_token": "preview"}
_STATUS_TEXT = {
    400: "The body is not well-formed JSON.",
    401: "A valid bearer token is required.",
    402: "The card was declined.",
    403: "Refused: the form's CSRF token is missing or does not match the session.",
    404: "Not found.",
    409: "Conflict with the current state.",
    413: "The request body is too large.",
    415: "Unsupported media type.",
    422: "Invalid request.",
    429: "Too many requests.",
    502: "An upstream provider failed.",
    503: "A dependency is unavailable.",
}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class InvalidParam(msgspec.Struct):
    name: str
    reason: str


class Problem(msgspec.Struct):
    """RFC 9457 problem details; some errors add members (`invalid-params`, the offending `sku`, ...)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    invalid_params: list[InvalidParam] | None = msgspec.field(default=None, name="invalid-params")


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` for a route handler: each status answered with problem details."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_STATUS_TEXT.get(status, "Error."),
            generate_examples=False,
        )
        for status in statuses
    }


def openapi_config(service: str, *, schemes: Sequence[str] = ("admin", "editor", "preview")) -> OpenAPIConfig:
    """The document's metadata and where it is served; `schemes` are the bearer tokens it may name."""
    bearer = {
        name: SecurityScheme(type="http", scheme="bearer", description=f"The {name} token (`STOREFRONT_*_TOKEN`).")
        for name in schemes
    }
    return OpenAPIConfig(
        title=f"storefront {service}",
        version="1.0.0",
        path=SCHEMA_PATH,
        render_plugins=[JsonRenderPlugin(), ScalarRenderPlugin()],
        components=Components(security_schemes=bearer),
        create_examples=False,
        use_handler_docstrings=True,
    )


def _guarded(handler: HTTPRouteHandler, admin_scheme: str) -> str | None:
    """The security scheme a handler's `require_token` guard checks, or None for an open route."""
    if not any(getattr(guard, "func", guard) is require_token for guard in handler.resolve_guards()):
        return None
    setting = handler.opt.get("token_setting", "admin_token")
    return admin_scheme if setting == "admin_token" else SCHEMES.get(setting, admin_scheme)


def _operations(app: Litestar, paths: dict[str, Any]) -> Iterator[tuple[dict[str, Any], HTTPRouteHandler]]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in paths:
            continue
        item = paths[route.path_format]
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = item.get(method.lower())
                if isinstance(operation, dict):
                    yield operation, handler


def problem_response(status: int) -> dict[str, Any]:
    """A response object answering `status` with problem details, for editing a generated document."""
    return {
        "description": _STATUS_TEXT.get(status, "Error."),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _strict_structs() -> dict[str, bool]:
    """Every msgspec Struct by class name: whether it refuses unknown fields."""
    found: dict[str, bool] = {}
    pending = list(msgspec.Struct.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        config = getattr(cls, "__struct_config__", None)
        if config is not None:
            found[cls.__name__] = found.get(cls.__name__, False) or bool(config.forbid_unknown_fields)
    return found


def _enum(schema: dict[str, Any], values: list[str]) -> None:
    if schema.get("type") == "string" and "enum" not in schema:
        schema["enum"] = values
        schema.pop("pattern", None)  # the enum says it all; a pattern beside it only slows generators
        if schema.get("default") not in values:
            schema.pop("default", None)  # an optional parameter's "" means absent, not another value


def finish_openapi(
    app: Litestar,
    regions: RegionCatalogue,
    *,
    admin_scheme: str = "admin",
    only_paths: Collection[str] | None = None,
) -> dict[str, Any]:
    """Complete the generated document in place (it is what `/schema/openapi.json` serves).

    What Litestar cannot know from signatures is added here: errors are problem details (422, not its 400),
    guarded routes name their bearer scheme and can answer 401, path lookups can answer 404, structs that
    forbid unknown fields say `additionalProperties: false`, and regions and locales come from the catalogue.
    `admin_scheme` names the scheme of the service's `admin_token` (the CMS's is the editor token);
    `only_paths`, when given, are the paths documented (the origin's machine endpoints, not its pages).
    """
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    paths = document.setdefault("paths", {})
    if only_paths is not None:
        missing = set(only_paths) - set(paths)
        if missing:
            raise LookupError(f"no route documents {sorted(missing)}")
        for path in set(paths) - set(only_paths):
            del paths[path]
    for path_item in paths.values():
        path_item.pop("head", None)  # HEAD mirrors every GET (RFC 9110): documenting each twice adds nothing
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = msgspec.json.schema(Problem, ref_template="#/components/schemas/{name}")["$defs"]["Problem"]
    schemas["InvalidParam"] = msgspec.json.schema(InvalidParam)["$defs"]["InvalidParam"]
    for operation, handler in _operations(app, document.get("paths", {})):
        responses = operation.setdefault("responses", {})
        responses.pop("400", None)  # Litestar's generic 400: validation errors are 422 problem details here
        scheme = _guarded(handler, admin_scheme)
        if scheme:
            operation["security"] = [{scheme: []}]
            responses.setdefault("401", problem_response(401))
        if operation.get("parameters") or operation.get("requestBody"):
            responses.setdefault("422", problem_response(422))
        if any(p.get("in") == "path" for p in operation.get("parameters", ())):
            responses.setdefault("404", problem_response(404))
        if operation.get("requestBody"):
            if "application/json" in operation["requestBody"].get("content", {}):
                responses.setdefault("400", problem_response(400))  # a body that is not JSON at all
            responses.setdefault("413", problem_response(413))
    strict = _strict_structs()
    for name, schema in schemas.items():
        short = name.rsplit("_", 1)[-1] if name not in strict else name
        if strict.get(short) and schema.get("type") == "object":
            schema["additionalProperties"] = False
    codes = list(regions.codes)
    locales = sorted({locale for region in regions for locale in region.locales})
    for node in _walk(document.get("paths", {})):
        if node.get("name") == "region" and isinstance(node.get("schema"), dict):
            _enum(node["schema"], codes)
        elif node.get("name") == "locale" and isinstance(node.get("schema"), dict):
            _enum(node["schema"], locales)
    for schema in schemas.values():
        properties = schema.get("properties", {})
        if isinstance(properties.get("region"), dict):
            _enum(properties["region"], codes)
    for node in _walk(document):
        if "oneOf" in node and "discriminator" not in node:
            mapping = _tags(node["oneOf"], schemas)
            if mapping:
                node["discriminator"] = {"propertyName": "type", "mapping": mapping}
            else:
                # Litestar writes every union as `oneOf`, but a msgspec union takes a value that any member
                # takes: `Href | Literal[""]` matches "" twice, which `oneOf` would refuse.
                node["anyOf"] = node.pop("oneOf")
    return document


def _tags(members: list[Any], schemas: dict[str, Any]) -> dict[str, str] | None:
    """For a union of structs tagged by `type` (msgspec's `tag_field`): each tag's `$ref`, else None."""
    mapping = {}
    for member in members:
        ref = member.get("$ref", "") if isinstance(member, dict) else ""
        tag = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}).get("type", {}).get("const")
        if not ref or not isinstance(tag, str):
            return None
        mapping[tag] = ref
    return mapping
