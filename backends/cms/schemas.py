"""The CMS's response shapes, as its OpenAPI document states them (handlers build plain dicts)."""

from __future__ import annotations

from typing import Any

import msgspec

from backends.cms.content_types import EntryType


class DeliveredEntry(msgspec.Struct):
    id: int
    type: EntryType
    key: str
    version: int
    locale: str
    fields: dict[str, Any]
    published_at: str | None


class Delivery(msgspec.Struct):
    items: list[DeliveredEntry]
    next_change_at: str | None


class OneEntry(DeliveredEntry):
    next_change_at: str | None


class VersionInfo(msgspec.Struct):
    version: int
    created_at: str


class EditorEntry(msgspec.Struct):
    """An entry as editors see it; `version` and `fields` are its latest draft's, `versions` only on reads."""

    id: int
    type: EntryType
    key: str
    latest_version: int
    published_version: int | None
    published_at: str | None
    scheduled_version: int | None
    scheduled_at: str | None
    version: int | None = None
    fields: dict[str, dict[str, Any]] | None = None
    versions: list[VersionInfo] | None = None
