"""Editor writes (create, update, publish, schedule, unpublish) with outbox events, and delivery reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backends.cms.models import CmsEvent, Entry, EntryVersion
from backends.common import add_event
from edge_config import RegionCatalogue


class Conflict(ValueError):
    pass


def pick_locale(fields: dict[str, Any], locale: str) -> str | None:
    """The requested locale, else another of the same language; content never crosses languages."""
    if locale in fields:
        return locale
    language = locale.split("-")[0]
    return next((code for code in sorted(fields) if code.split("-")[0] == language), None)


def _resolved(fields: dict[str, Any], locale: str) -> Any:
    picked = pick_locale(fields, locale)
    return fields[picked] if picked else None


def affected_regions(catalogue: RegionCatalogue, new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    """Regions where some locale would now show different content than before."""
    return [
        region.code
        for region in catalogue
        if any(_resolved(new, wanted) != _resolved(old, wanted) for wanted in region.locales)
    ]


def entry_dict(entry: Entry, version: EntryVersion | None = None) -> dict[str, Any]:
    out = {
        "id": entry.id,
        "type": entry.type,
        "key": entry.key,
        "latest_version": entry.latest_version,
        "published_version": entry.published_version,
        "published_at": entry.published_at.isoformat() if entry.published_at else None,
        "scheduled_version": entry.scheduled_version,
        "scheduled_at": entry.scheduled_at.isoformat() if entry.scheduled_at else None,
    }
    if version is not None:
        out["version"] = version.version
        out["fields"] = version.fields
    return out


async def _version(session: AsyncSession, entry_id: int, version: int) -> EntryVersion | None:
    return await session.get(EntryVersion, (entry_id, version))


async def create_entry(
    session: AsyncSession, *, entry_type: str, key: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Create an entry as draft version 1; the same request again returns the entry, not a duplicate."""
    async with session.begin():
        existing = await session.scalar(select(Entry).where(Entry.type == entry_type, Entry.key == key))
        if existing is not None:
            first = await _version(session, existing.id, 1)
            if first is None or first.fields != fields:
                raise Conflict(f"{entry_type}/{key} exists with different fields; update it instead")
            return entry_dict(existing, first), False
        entry = Entry(type=entry_type, key=key, latest_version=1)
        session.add(entry)
        await session.flush()
        version = EntryVersion(entry_id=entry.id, version=1, fields=fields)
        session.add(version)
        return entry_dict(entry, version), True


async def update_entry(
    session: AsyncSession, *, entry_id: int, fields: dict[str, Any], base_version: int
) -> dict[str, Any] | None:
    """Add a draft version on top of `base_version`; a stale base (someone else saved) is a conflict."""
    async with session.begin():
        entry = await session.get(Entry, entry_id, with_for_update=True)
        if entry is None:
            return None
        latest = await _version(session, entry.id, entry.latest_version)
        if (
            latest is not None
            and latest.fields == fields
            and base_version in (entry.latest_version - 1, entry.latest_version)
        ):
            return entry_dict(entry, latest)  # a retried save: nothing new to store
        if base_version != entry.latest_version:
            raise Conflict(f"version {entry.latest_version} is newer than your base {base_version}; reload it")
        entry.latest_version += 1
        version = EntryVersion(entry_id=entry.id, version=entry.latest_version, fields=fields)
        session.add(version)
        return entry_dict(entry, version)


async def _publish(
    session: AsyncSession, entry: Entry, version: EntryVersion, now: datetime, catalogue: RegionCatalogue
) -> None:
    previous = await _version(session, entry.id, entry.published_version) if entry.published_version else None
    entry.published_version = version.version
    entry.published_at = now
    if entry.scheduled_version is not None and entry.scheduled_version <= version.version:
        entry.scheduled_version, entry.scheduled_at = None, None
    regions = affected_regions(catalogue, version.fields, previous.fields if previous else {})
    if not regions:
        return  # same content as what is live: nothing a shopper could see changed
    add_event(
        session,
        CmsEvent,
        "content.published",
        regions,
        {
            "entry_id": entry.id,
            "type": entry.type,
            "key": entry.key,
            "version": version.version,
            "locales": sorted(version.fields),
        },
    )


async def publish(
    session: AsyncSession,
    *,
    entry_id: int,
    version: int | None,
    at: datetime | None,
    now: datetime,
    catalogue: RegionCatalogue,
) -> dict[str, Any] | None:
    """Publish a version now, or schedule it for `at`; publishing what is already live changes nothing."""
    async with session.begin():
        entry = await session.get(Entry, entry_id, with_for_update=True)
        if entry is None:
            return None
        number = version or entry.latest_version
        chosen = await _version(session, entry.id, number)
        if chosen is None:
            raise Conflict(f"entry {entry_id} has no version {number}")
        if at is not None and at > now:
            entry.scheduled_version, entry.scheduled_at = number, at
        elif entry.published_version != number:
            await _publish(session, entry, chosen, now, catalogue)
        return entry_dict(entry, chosen)


async def unpublish(session: AsyncSession, *, entry_id: int, catalogue: RegionCatalogue) -> dict[str, Any] | None:
    async with session.begin():
        entry = await session.get(Entry, entry_id, with_for_update=True)
        if entry is None:
            return None
        if entry.published_version is not None:
            live = await _version(session, entry.id, entry.published_version)
            entry.published_version, entry.published_at = None, None
            regions = affected_regions(catalogue, {}, live.fields if live else {})
            if regions:
                add_event(
                    session,
                    CmsEvent,
                    "content.unpublished",
                    regions,
                    {"entry_id": entry.id, "type": entry.type, "key": entry.key},
                )
        entry.scheduled_version, entry.scheduled_at = None, None
        return entry_dict(entry)


async def next_scheduled(session: AsyncSession) -> datetime | None:
    """When the earliest scheduled publish is due, if any."""
    async with session.begin():
        return await session.scalar(select(func.min(Entry.scheduled_at)))


async def publish_due(session: AsyncSession, *, now: datetime, catalogue: RegionCatalogue) -> int:
    """Publish every entry whose scheduled time has come; safe to run from several workers at once."""
    async with session.begin():
        due = (await session.scalars(select(Entry.id).where(Entry.scheduled_at <= now))).all()
    published = 0
    for entry_id in due:
        async with session.begin():
            entry = await session.get(Entry, entry_id, with_for_update=True)
            if entry is None or entry.scheduled_at is None or entry.scheduled_at > now:
                continue  # another worker got there first
            version = await _version(session, entry.id, entry.scheduled_version or entry.latest_version)
            if version is None:
                continue
            claimed = await session.execute(
                update(Entry)
                .where(Entry.id == entry.id, Entry.scheduled_at == entry.scheduled_at)
                .values(scheduled_at=None)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                continue
            await _publish(session, entry, version, now, catalogue)
            entry.scheduled_version, entry.scheduled_at = None, None
            published += 1
    return published


async def deliver(
    session: AsyncSession,
    *,
    entry_type: str | None,
    key: str | None,
    locale: str,
    now: datetime,
    drafts: bool = False,
    placement: str | None = None,
) -> dict[str, Any]:
    """Entries for one locale: published versions, or the latest drafts when previewing."""
    stmt = select(Entry)
    if entry_type:
        stmt = stmt.where(Entry.type == entry_type)
    if key:
        stmt = stmt.where(Entry.key == key)
    if not drafts:
        stmt = stmt.where(Entry.published_version.is_not(None))
    entries: Sequence[Entry] = (await session.scalars(stmt.order_by(Entry.id))).all()
    items = []
    for entry in entries:
        number = entry.latest_version if drafts else entry.published_version
        version = await _version(session, entry.id, number or 0)
        if version is None:
            continue
        served = pick_locale(version.fields, locale)
        if served is None:
            continue
        values = version.fields[served]
        if placement and values.get("placement", placement) != placement:
            continue
        items.append(
            {
                "id": entry.id,
                "type": entry.type,
                "key": entry.key,
                "version": version.version,
                "locale": served,
                "fields": values,
                "published_at": entry.published_at.isoformat() if entry.published_at else None,
            }
        )
    # The delivery cache must not outlive the next scheduled publish of anything it could show.
    scheduled = select(Entry.scheduled_at).where(Entry.scheduled_at > now)
    if entry_type:
        scheduled = scheduled.where(Entry.type == entry_type)
    if key:
        scheduled = scheduled.where(Entry.key == key)
    next_change = await session.scalar(scheduled.order_by(Entry.scheduled_at).limit(1))
    return {"items": items, "next_change_at": next_change.isoformat() if next_change else None}


async def get_entry(session: AsyncSession, entry_id: int) -> dict[str, Any] | None:
    entry = await session.get(Entry, entry_id)
    if entry is None:
        return None
    versions = (
        await session.scalars(
            select(EntryVersion).where(EntryVersion.entry_id == entry_id).order_by(EntryVersion.version)
        )
    ).all()
    out = entry_dict(entry, versions[-1] if versions else None)
    out["versions"] = [{"version": v.version, "created_at": v.created_at.isoformat()} for v in versions]
    return out
