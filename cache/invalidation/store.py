"""Where purges live: the SQLite/PostgreSQL purge log (default) or Redis Streams (`STOREFRONT_REDIS_URL`).

Both give the invalidator the same operations: record a purge (once per event), hand each region's
purger what is due, acknowledge or retry deliveries, and build receipts.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from backends.common.commits import Fires, commits_elsewhere, note_outbox_events
from backends.common.db import Database, utcnow
from cache.invalidation import log as sql
from cache.invalidation.log import OutboxCursor, PurgeRequest, backoff
from cache.invalidation.targets import EdgeId, Target

GROUP = "purgers"
CONSUMER = "invalidator"
CLAIM_IDLE_MS = 5_000  # a delivery read but not acknowledged for this long is handed out again


@dataclass(frozen=True, slots=True)
class PurgeSpec:
    keys: tuple[str, ...]
    urls: tuple[str, ...]
    targets: tuple[Target, ...]
    soft: bool
    source: str
    dedupe_key: str | None = None
    not_before: datetime | None = None
    followup_after: timedelta | None = None
    occurred_at: datetime | None = None  # when the change behind an event's purge committed
    traceparent: str | None = None  # the trace its deliveries' spans join (the planning of its event)


@dataclass(frozen=True, slots=True)
class Due:
    id: str
    purge_id: str
    region: str
    edge: EdgeId
    keys: tuple[str, ...]
    urls: tuple[str, ...]
    soft: bool
    followup: bool
    attempts: int = 0
    # Where purge lag counts from: the cause's commit (an event's), else when the purge was recorded.
    since: datetime | None = None
    traceparent: str | None = None


class PurgeStore(Protocol):
    async def record(self, spec: PurgeSpec) -> tuple[str, bool]: ...
    async def cursor(self, service: str) -> int: ...
    async def record_events(self, service: str, last_seq: int, specs: Sequence[PurgeSpec]) -> None: ...
    async def due(self, region: str, now: datetime, limit: int = 200) -> list[Due]: ...
    async def next_due(self, region: str) -> datetime | None: ...
    async def ack(self, items: Sequence[Due], removed: int, now: datetime) -> None: ...
    async def retry(self, items: Sequence[Due], error: str, now: datetime) -> None: ...
    async def receipt(self, purge_id: str) -> dict[str, Any] | None: ...
    async def watch(self, wake: Fires) -> None: ...


class SqlPurgeStore:
    """The purge log in the invalidator's database (SQLite by default)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _record(self, session: Any, spec: PurgeSpec) -> tuple[str, bool]:
        # The commit wakes the leader's purgers in other invalidator processes too (NOTIFY, on PostgreSQL).
        note_outbox_events(session, PurgeRequest.__tablename__)
        return await sql.record_purge(
            session,
            keys=spec.keys,
            urls=spec.urls,
            targets=spec.targets,
            soft=spec.soft,
            source=spec.source,
            dedupe_key=spec.dedupe_key,
            not_before=spec.not_before,
            followup_after=spec.followup_after,
            occurred_at=spec.occurred_at,
            traceparent=spec.traceparent,
        )

    async def record(self, spec: PurgeSpec) -> tuple[str, bool]:
        async with self.db.sessionmaker() as session, session.begin():
            return await self._record(session, spec)

    async def cursor(self, service: str) -> int:
        async with self.db.sessionmaker() as session:
            found = await session.get(OutboxCursor, service)
            return found.last_seq if found else 0

    async def record_events(self, service: str, last_seq: int, specs: Sequence[PurgeSpec]) -> None:
        """The purges and the new cursor commit together: no event is lost or turned into purges twice."""
        async with self.db.sessionmaker() as session, session.begin():
            cursor = await session.get(OutboxCursor, service, with_for_update=True)
            if cursor is None:
                cursor = OutboxCursor(source=service, last_seq=0)
                session.add(cursor)
            if last_seq <= cursor.last_seq:
                return  # another consumer got here first
            for spec in specs:
                await self._record(session, spec)
            cursor.last_seq = last_seq

    async def due(self, region: str, now: datetime, limit: int = 200) -> list[Due]:
        async with self.db.sessionmaker() as session:
            rows = await sql.due(session, region, now, limit)
        return [
            Due(
                str(d.id),
                r.id,
                d.region,
                EdgeId.parse(d.edge),
                tuple(r.keys),
                tuple(r.urls),
                r.soft,
                d.followup,
                d.attempts,
                occurred_at or r.created_at,
                r.traceparent,
            )
            for d, r, occurred_at in rows
        ]

    async def next_due(self, region: str) -> datetime | None:
        async with self.db.sessionmaker() as session:
            return await sql.next_due(session, region)

    async def ack(self, items: Sequence[Due], removed: int, now: datetime) -> None:
        async with self.db.sessionmaker() as session, session.begin():
            await sql.acknowledge(session, [int(i.id) for i in items], removed, now)

    async def retry(self, items: Sequence[Due], error: str, now: datetime) -> None:
        async with self.db.sessionmaker() as session, session.begin():
            await sql.retry_later(session, [int(i.id) for i in items], error, now)

    async def receipt(self, purge_id: str) -> dict[str, Any] | None:
        async with self.db.sessionmaker() as session:
            return await sql.receipt(session, purge_id)

    async def watch(self, wake: Fires) -> None:
        """Until cancelled, `wake` purgers when another process (a follower's purge API) records a purge:
        LISTEN on PostgreSQL; nothing on SQLite, which runs one invalidator process (`purge_recheck` bounds it)."""
        async with commits_elsewhere(self.db.engine, PurgeRequest.__tablename__, wake):
            await asyncio.Event().wait()


class RedisPurgeStore:
    """Redis Streams: one stream per region (`purges:{region}`) with its own consumer group.

    Delayed deliveries (follow-ups, scheduled boundaries, retries) wait in a sorted set until due.
    A delivery read but never acknowledged (a purger that died) is claimed again after a few seconds.
    """

    def __init__(self, redis: Redis, prefix: str = "storefront") -> None:
        self.redis = redis
        self.prefix = prefix

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def _ensure_group(self, region: str) -> None:
        try:
            await self.redis.xgroup_create(self._k("purges", region), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _stage(self, pipe: Any, spec: PurgeSpec, purge_id: str, now: datetime) -> None:
        created = now.isoformat()
        pipe.hset(
            self._k("purge", purge_id),
            mapping={
                "keys": json.dumps(list(spec.keys)),
                "urls": json.dumps(list(spec.urls)),
                "soft": int(spec.soft),
                "source": spec.source,
                "created_at": created,
                "since": (spec.occurred_at or now).isoformat(),
                "regions": json.dumps(sorted({t.region for t in spec.targets})),
                "traceparent": spec.traceparent or "",
            },
        )
        start = spec.not_before or now
        for target in spec.targets:
            pipe.hset(self._k("purge", purge_id, "deliveries"), f"{target.region}|{target.edge}", json.dumps({}))
            deliveries = [(start, False)]
            if spec.followup_after and spec.keys and target.followup:
                deliveries.append((start + spec.followup_after, True))
            for when, followup in deliveries:
                item = json.dumps(
                    {
                        "purge_id": purge_id,
                        "region": target.region,
                        "edge": str(target.edge),
                        "followup": followup,
                        "attempts": 0,
                        "n": uuid.uuid4().hex,
                    }
                )
                pipe.zadd(self._k("delayed"), {item: when.timestamp()})

    async def record(self, spec: PurgeSpec) -> tuple[str, bool]:
        purge_id = str(uuid.uuid4())
        if spec.dedupe_key is not None:
            claimed = await self.redis.set(self._k("dedupe", spec.dedupe_key), purge_id, nx=True)
            if not claimed:
                return (await self.redis.get(self._k("dedupe", spec.dedupe_key))).decode(), False
        async with self.redis.pipeline(transaction=True) as pipe:
            self._stage(pipe, spec, purge_id, utcnow())
            pipe.publish(self._k("purges-recorded"), purge_id)  # wakes the leader's purgers in other processes
            await pipe.execute()
        return purge_id, True

    async def cursor(self, service: str) -> int:
        value = await self.redis.get(self._k("cursor", service))
        return int(value) if value else 0

    async def record_events(self, service: str, last_seq: int, specs: Sequence[PurgeSpec]) -> None:
        # Dedupe keys make a repeated event harmless, so purges may be recorded before the cursor moves.
        for spec in specs:
            await self.record(spec)
        await self.redis.set(self._k("cursor", service), last_seq)

    async def _promote(self, now: datetime) -> None:
        """Move delayed deliveries that are due into their region's stream (exactly once: ZREM decides)."""
        for item in await self.redis.zrangebyscore(self._k("delayed"), "-inf", now.timestamp(), start=0, num=500):
            if await self.redis.zrem(self._k("delayed"), item):
                entry = json.loads(item)
                await self._ensure_group(entry["region"])
                await self.redis.xadd(self._k("purges", entry["region"]), {"d": item})

    async def due(self, region: str, now: datetime, limit: int = 200) -> list[Due]:
        await self._promote(now)
        await self._ensure_group(region)
        stream = self._k("purges", region)
        _, claimed, _ = await self.redis.xautoclaim(stream, GROUP, CONSUMER, CLAIM_IDLE_MS, "0-0", count=limit)
        fresh = await self.redis.xreadgroup(GROUP, CONSUMER, {stream: ">"}, count=limit)
        messages = list(claimed) + [m for _, entries in fresh for m in entries]
        out: list[Due] = []
        for message_id, fields in messages:
            if not fields:
                continue
            entry = json.loads(fields[b"d"])
            purge = await self.redis.hgetall(self._k("purge", entry["purge_id"]))
            if not purge:
                await self.redis.xack(stream, GROUP, message_id)
                continue
            out.append(
                Due(
                    id=f"{message_id.decode()}|{fields[b'd'].decode()}",
                    purge_id=entry["purge_id"],
                    region=region,
                    edge=EdgeId.parse(entry["edge"]),
                    keys=tuple(json.loads(purge[b"keys"])),
                    urls=tuple(json.loads(purge[b"urls"])),
                    soft=purge[b"soft"] == b"1",
                    followup=entry["followup"],
                    attempts=entry["attempts"],
                    since=datetime.fromisoformat((purge.get(b"since") or purge[b"created_at"]).decode()),
                    traceparent=purge.get(b"traceparent", b"").decode() or None,
                )
            )
        return out

    async def next_due(self, region: str) -> datetime | None:
        """The earliest delayed delivery of any region (a purger woken early finds nothing and waits again);
        deliveries already in a stream were due when they were added."""
        first = await self.redis.zrange(self._k("delayed"), 0, 0, withscores=True)
        return datetime.fromtimestamp(first[0][1], UTC) if first else None

    async def _settle(self, item: Due, state: dict[str, Any]) -> None:
        message_id = item.id.split("|", 1)[0]
        async with self.redis.pipeline(transaction=True) as pipe:
            if not item.followup:
                pipe.hset(
                    self._k("purge", item.purge_id, "deliveries"), f"{item.region}|{item.edge}", json.dumps(state)
                )
            pipe.xack(self._k("purges", item.region), GROUP, message_id)
            pipe.xdel(self._k("purges", item.region), message_id)
            await pipe.execute()

    async def ack(self, items: Sequence[Due], removed: int, now: datetime) -> None:
        for item in items:
            await self._settle(item, {"acked_at": now.isoformat(), "removed": removed, "attempts": item.attempts + 1})

    async def retry(self, items: Sequence[Due], error: str, now: datetime) -> None:
        for item in items:
            entry = json.loads(item.id.split("|", 1)[1]) | {"attempts": item.attempts + 1, "n": uuid.uuid4().hex}
            await self.redis.zadd(
                self._k("delayed"), {json.dumps(entry): (now + backoff(item.attempts + 1)).timestamp()}
            )
            await self._settle(item, {"attempts": item.attempts + 1, "last_error": error[:300]})

    async def receipt(self, purge_id: str) -> dict[str, Any] | None:
        purge = await self.redis.hgetall(self._k("purge", purge_id))
        if not purge:
            return None
        deliveries = await self.redis.hgetall(self._k("purge", purge_id, "deliveries"))
        regions: dict[str, dict[str, Any]] = {}
        for field, raw in sorted(deliveries.items()):
            region, edge = field.decode().split("|", 1)
            state = json.loads(raw)
            entry = regions.setdefault(region, {"acknowledged_at": None, "edges": []})
            entry["edges"].append(
                {
                    "edge": edge,
                    "acknowledged_at": state.get("acked_at"),
                    "removed": state.get("removed"),
                    "attempts": state.get("attempts", 0),
                    "last_error": state.get("last_error"),
                }
            )
        for entry in regions.values():
            times = [e["acknowledged_at"] for e in entry["edges"]]
            entry["acknowledged_at"] = max(times) if all(times) else None
        return {
            "id": purge_id,
            "keys": json.loads(purge[b"keys"]),
            "urls": json.loads(purge[b"urls"]),
            "soft": purge[b"soft"] == b"1",
            "source": purge[b"source"].decode(),
            "created_at": purge[b"created_at"].decode(),
            "complete": all(e["acknowledged_at"] for e in regions.values()),
            "regions": regions,
        }

    async def watch(self, wake: Fires) -> None:
        """Until cancelled, `wake` purgers when any process records a purge (its own included: harmless)."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._k("purges-recorded"))
            async for _message in pubsub.listen():
                wake.fire()
        finally:
            await pubsub.aclose()
