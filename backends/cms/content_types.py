"""The content types an editor can write, their field schemas, and rich-text sanitising on write."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
import nh3

EntryType = Literal["page", "hero", "promo", "navigation", "footer"]
LOCALE = re.compile(r"^[a-z]{2}-[A-Z]{2}$")
# Relative paths, anchors or absolute http(s) URLs; nothing that can run script.
_HREF = r"^(/[^\s<>\"']*|#[\w-]*|https?://[^\s<>\"']+)$"

Short = Annotated[str, msgspec.Meta(max_length=200)]
Href = Annotated[str, msgspec.Meta(max_length=500, pattern=_HREF)]
RichText = Annotated[str, msgspec.Meta(max_length=50_000)]
ImageRef = Annotated[str, msgspec.Meta(max_length=80, pattern=r"^([0-9a-f]{64})?$")]

_RICH_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "a",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "code",
}
_RICH_ATTRIBUTES = {"a": {"href", "title"}}


class Link(msgspec.Struct, forbid_unknown_fields=True):
    label: Short
    href: Href


class Hero(msgspec.Struct, forbid_unknown_fields=True):
    title: Short
    subtitle: Annotated[str, msgspec.Meta(max_length=400)] = ""
    cta_label: Short = ""
    cta_href: Href | Literal[""] = ""
    image: ImageRef = ""


class Promo(msgspec.Struct, forbid_unknown_fields=True):
    title: Short
    body: RichText = ""
    href: Href | Literal[""] = ""
    placement: Literal["home", "category", "product"] = "home"
    image: ImageRef = ""


class Page(msgspec.Struct, forbid_unknown_fields=True):
    title: Short
    body: RichText = ""
    summary: Annotated[str, msgspec.Meta(max_length=400)] = ""


class Navigation(msgspec.Struct, forbid_unknown_fields=True):
    items: Annotated[list[Link], msgspec.Meta(max_length=30)]


class Footer(msgspec.Struct, forbid_unknown_fields=True):
    body: RichText = ""
    links: Annotated[list[Link], msgspec.Meta(max_length=30)] = []


SCHEMAS: dict[str, type[msgspec.Struct]] = {
    "hero": Hero,
    "promo": Promo,
    "page": Page,
    "navigation": Navigation,
    "footer": Footer,
}
_RICH_FIELDS = {"promo": ("body",), "page": ("body",), "footer": ("body",)}


def sanitise_rich_text(html: str) -> str:
    """Keep an allow-list of tags; links get rel="noopener noreferrer" and only safe URL schemes."""
    return nh3.clean(
        html,
        tags=_RICH_TAGS,
        attributes=_RICH_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


class FieldError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def validate_fields(entry_type: str, fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Validate per-locale fields against the type's schema and return them with rich text sanitised."""
    if not isinstance(fields, dict) or not fields:
        raise FieldError("fields", 'give fields for at least one locale, e.g. {"en-US": {...}}')
    if len(fields) > 20:
        raise FieldError("fields", "at most 20 locales")
    schema = SCHEMAS[entry_type]
    clean: dict[str, dict[str, Any]] = {}
    for locale, values in fields.items():
        if not isinstance(locale, str) or not LOCALE.match(locale):
            raise FieldError(f"fields.{locale}", "locales look like en-US or de-DE")
        try:
            struct = msgspec.convert(values, schema)
        except msgspec.ValidationError as exc:
            raise FieldError(f"fields.{locale}", str(exc)) from exc
        data = msgspec.to_builtins(struct)
        for name in _RICH_FIELDS.get(entry_type, ()):
            data[name] = sanitise_rich_text(data[name])
        clean[locale] = data
    return clean
