"""CMS tables: entries (which version is draft, published, scheduled) and their immutable versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from backends.common import OutboxEventMixin, UTCDateTime, utcnow


class CmsBase(DeclarativeBase):
    pass


class Entry(CmsBase):
    __tablename__ = "cms_entries"
    __table_args__ = (UniqueConstraint("type", "key", name="uq_cms_entries_type_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20), index=True)
    key: Mapped[str] = mapped_column(String(80))
    latest_version: Mapped[int] = mapped_column(default=1)
    published_version: Mapped[int | None]
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_version: Mapped[int | None]
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class EntryVersion(CmsBase):
    """A version's fields by locale: `{"en-US": {...}, "de-DE": {...}}`. Versions are never edited."""

    __tablename__ = "cms_entry_versions"

    entry_id: Mapped[int] = mapped_column(ForeignKey("cms_entries.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    fields: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CmsEvent(OutboxEventMixin, CmsBase):
    __tablename__ = "cms_outbox"
