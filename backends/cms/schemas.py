"""The CMS's response shapes, as its OpenAPI document states them (handlers build plain dicts)."""

from __future__ import annotations

from typing import Any, Union

import msgspec

from backends.cms.content_types import SCHEMAS
from backends.common.events import payloads


class DeliveredBase(msgspec.Struct, tag_field="type"):
    """A published (or, previewing, draft) entry in one locale; its `type` says what `fields` holds."""

    id: int
    key: str
    version: int
    locale: str
    published_at: str | None


class OneEntryBase(DeliveredBase):
    next_change_at: str | None


class VersionInfo(msgspec.Struct):
    version: int
    created_at: str


class EditorBase(msgspec.Struct, tag_field="type"):
    """An entry as editors see it; `version` and `fields` are its latest draft's, `versions` only on reads."""

    id: int
    key: str
    latest_version: int
    published_version: int | None
    published_at: str | None
    scheduled_version: int | None
    scheduled_at: str | None
    version: int | None = None
    versions: list[VersionInfo] | None = None


def _by_type(base: type[msgspec.Struct], label: str, fields: Any) -> Any:
    """One subclass of `base` per content type, tagged by `type`, whose `fields` are that type's struct
    (`fields(struct)` gives the annotation): a client gets `Hero` fields for a hero, never a guess."""
    variants = tuple(
        msgspec.defstruct(
            f"{struct.__name__}{label}",
            [("fields", *fields(struct))],
            bases=(base,),
            tag=entry_type,
            module=__name__,
        )
        for entry_type, struct in SCHEMAS.items()
    )
    return Union[variants]  # noqa: UP007  # a union built from a tuple has no `|` spelling


# The content types' structs forbid unknown fields, and every stored field is written (defaults included).
DeliveredEntry = _by_type(DeliveredBase, "Entry", lambda struct: (struct,))
OneEntry = _by_type(OneEntryBase, "OneEntry", lambda struct: (struct,))
EditorEntry = _by_type(EditorBase, "EditorEntry", lambda struct: (dict[str, struct] | None, None))  # by locale


class Delivery(msgspec.Struct):
    items: list[DeliveredEntry]  # type: ignore[valid-type]
    next_change_at: str | None


# The outbox's event types and their payloads, as `/admin/outbox` documents them.
OUTBOX_PAYLOADS = payloads("content.published", "content.unpublished")
