"""CMS HTTP API: delivery (published), preview (drafts, preview token), editor (editor token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backends.cms.content_types import LOCALE, EntryType, FieldError, validate_fields
from backends.cms.notify import notify
from backends.cms.schemas import Delivery, EditorEntry, OneEntry
from backends.cms.service import Conflict, create_entry, deliver, get_entry, publish, unpublish, update_entry
from backends.common import invalid, require_token, utcnow
from backends.common.openapi import problems
from backends.common.params import IdPath, Version, instant
from backends.common.validation import SLUG

LocaleParam = Annotated[str, Parameter(max_length=10, pattern=LOCALE.pattern)]
KeyParam = Annotated[str, Parameter(max_length=80, pattern=SLUG.pattern)]
Placement = Annotated[str | None, Parameter(max_length=20, pattern=SLUG.pattern)]
TypePath = Annotated[str, Parameter(pattern=r"^(page|hero|promo|navigation|footer)$")]


class EntryIn(msgspec.Struct, forbid_unknown_fields=True):
    type: EntryType
    key: Annotated[str, msgspec.Meta(max_length=80, pattern=SLUG.pattern)]
    fields: dict[str, Any]


class EntryUpdate(msgspec.Struct, forbid_unknown_fields=True):
    fields: dict[str, Any]
    base_version: Version


class PublishIn(msgspec.Struct, forbid_unknown_fields=True):
    version: Version | None = None
    at: datetime | None = None


def _fields(entry_type: str, fields: dict[str, Any]) -> dict[str, Any]:
    try:
        return validate_fields(entry_type, fields)
    except FieldError as exc:
        raise invalid(exc.path, exc.message, source="body") from exc


def _conflict(exc: Conflict) -> HTTPException:
    return HTTPException(status_code=409, detail=str(exc))


class DeliveryController(Controller):
    path = "/delivery"

    @get("/entries")
    async def entries(
        self,
        read_session: AsyncSession,
        locale: LocaleParam,
        type: EntryType | None = None,
        key: Annotated[str | None, Parameter(max_length=80, pattern=SLUG.pattern)] = None,
        placement: Placement = None,
    ) -> Delivery:
        """Published entries in one locale, plus when the next scheduled publish among them is due."""
        return await deliver(  # type: ignore[return-value]  # encoded as is; Delivery documents it
            read_session, entry_type=type, key=key, locale=locale, now=utcnow(), placement=placement
        )

    @get("/entries/{type:str}/{key:str}")
    async def entry(self, read_session: AsyncSession, type: TypePath, key: KeyParam, locale: LocaleParam) -> OneEntry:
        return await _one(read_session, type, key, locale, drafts=False)  # type: ignore[return-value]


class PreviewController(Controller):
    path = "/preview"
    guards = [require_token]
    opt = {"token_setting": "preview_token"}

    @get("/entries/{type:str}/{key:str}")
    async def entry(self, db_session: AsyncSession, type: TypePath, key: KeyParam, locale: LocaleParam) -> OneEntry:
        """The latest draft of an entry, for editors to see before they publish."""
        return await _one(db_session, type, key, locale, drafts=True)  # type: ignore[return-value]


async def _one(session: AsyncSession, entry_type: str, key: str, locale: str, *, drafts: bool) -> dict[str, Any]:
    if entry_type not in {"page", "hero", "promo", "navigation", "footer"}:
        raise invalid("type", "one of page, hero, promo, navigation, footer", source="path")
    if not SLUG.match(key) or len(key) > 80:
        raise invalid("key", "a lowercase slug", source="path")
    found = await deliver(session, entry_type=entry_type, key=key, locale=locale, now=utcnow(), drafts=drafts)
    if not found["items"]:
        raise NotFoundException(detail=f"No {'' if drafts else 'published '}{entry_type} {key!r} for {locale}.")
    return {**found["items"][0], "next_change_at": found["next_change_at"]}


class EditorController(Controller):
    path = "/editor"
    guards = [require_token]

    @post(
        "/entries",
        responses={
            **problems(409),
            200: ResponseSpec(EditorEntry, description="A retry: the entry as first created.", generate_examples=False),
        },
    )
    async def create(self, db_session: AsyncSession, data: EntryIn) -> Response[EditorEntry]:
        """Create a draft; sending the same request again returns the same entry (201, then 200)."""
        fields = _fields(data.type, data.fields)
        try:
            entry, created = await create_entry(db_session, entry_type=data.type, key=data.key, fields=fields)
        except Conflict as exc:
            raise _conflict(exc) from exc
        return Response(entry, status_code=201 if created else 200)

    @get("/entries/{entry_id:int}")
    async def read(self, db_session: AsyncSession, entry_id: IdPath) -> EditorEntry:
        found = await get_entry(db_session, entry_id)
        if found is None:
            raise NotFoundException(detail=f"No entry {entry_id}.")
        return found  # type: ignore[return-value]

    @put("/entries/{entry_id:int}", responses=problems(409))
    async def update(self, db_session: AsyncSession, entry_id: IdPath, data: EntryUpdate) -> EditorEntry:
        """Save a new draft version on top of `base_version` (409 if someone saved in between)."""
        current = await get_entry(db_session, entry_id)
        if current is None:
            raise NotFoundException(detail=f"No entry {entry_id}.")
        await db_session.rollback()  # end the read so the write below starts its own transaction
        fields = _fields(current["type"], data.fields)
        try:
            found = await update_entry(db_session, entry_id=entry_id, fields=fields, base_version=data.base_version)
        except Conflict as exc:
            raise _conflict(exc) from exc
        if found is None:
            raise NotFoundException(detail=f"No entry {entry_id}.")
        return found  # type: ignore[return-value]

    @post("/entries/{entry_id:int}/publish", status_code=200, responses=problems(409))
    async def publish(self, state: State, db_session: AsyncSession, entry_id: IdPath, data: PublishIn) -> EditorEntry:
        """Publish now, or at `at` (a future instant schedules it); republishing is harmless."""
        at = instant(data.at, "at", source="body") if data.at is not None else None
        try:
            found = await publish(
                db_session,
                entry_id=entry_id,
                version=data.version,
                at=at,
                now=utcnow(),
                catalogue=state.settings.regions,
            )
        except Conflict as exc:
            raise _conflict(exc) from exc
        if found is None:
            raise NotFoundException(detail=f"No entry {entry_id}.")
        if at is not None:
            state.schedule_wake.set()  # the scheduler may be asleep past this new instant
        notify(state, entry_id)
        return found  # type: ignore[return-value]

    @post("/entries/{entry_id:int}/unpublish", status_code=200)
    async def unpublish(self, state: State, db_session: AsyncSession, entry_id: IdPath) -> EditorEntry:
        found = await unpublish(db_session, entry_id=entry_id, catalogue=state.settings.regions)
        if found is None:
            raise NotFoundException(detail=f"No entry {entry_id}.")
        notify(state, entry_id)
        return found  # type: ignore[return-value]
