"""The cleanup loop: expired report files leave object storage, deleted users' files too.

Each pass takes a batch of completed jobs past `expires_at` (`FOR UPDATE SKIP LOCKED`, so instances
share the work), deletes their objects and marks them `expired` (the row stays, so the list still
shows the report and a download answers 410). It then empties the prefixes of users deleted since
(`object_purges`, written by the `user.deleted` handler), sparing their space reports' files, which stay
with the space, and removes the files of deleted spaces' reports (`object_removals`, written by the
space's deletion). Deleting an object twice is harmless, so a pass that dies half-way is simply repeated.
"""

import asyncio
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import delete, select

from pfms_platform.db import Database
from pfms_platform.logging import get_logger
from pfms_report.domain import Status
from pfms_report.models import ObjectPurge, ObjectRemoval, Report
from pfms_report.settings import Settings
from pfms_report.storage import ObjectStore

log = get_logger(__name__)

BATCH = 100


async def expire(db: Database, store: ObjectStore, now: datetime | None = None) -> int:
    """One batch of expired files removed; returns how many."""
    now = now or datetime.now(UTC)
    async with db.sessions() as session, session.begin():
        rows = (
            await session.scalars(
                select(Report)
                .where(Report.status == Status.COMPLETED.value, Report.expires_at <= now)
                .order_by(Report.expires_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            if row.object_key:
                await store.delete(row.object_key)
            row.status = Status.EXPIRED.value
            row.object_key = None
    return len(rows)


async def purge(db: Database, store: ObjectStore) -> int:
    """Remove the stored files of deleted users; returns how many users were done."""
    async with db.sessions() as session, session.begin():
        users = (
            await session.scalars(select(ObjectPurge.user_id).limit(BATCH).with_for_update(skip_locked=True))
        ).all()
        for user_id in users:
            # Their space reports stay with the space: spared by id (the key is `{user_id}/{report_id}.{ext}`),
            # so a file written after this listing began is spared too.
            kept = await session.scalars(select(Report.id).where(Report.user_id == user_id))
            await store.delete_prefix(f"{user_id}/", spare={str(report_id) for report_id in kept})
        if users:
            await session.execute(delete(ObjectPurge).where(ObjectPurge.user_id.in_(users)))
    return len(users)


async def remove(db: Database, store: ObjectStore) -> int:
    """Remove the stored files of reports whose rows are gone (a deleted space's); returns how many."""
    async with db.sessions() as session, session.begin():
        keys = (
            await session.scalars(select(ObjectRemoval.object_key).limit(BATCH).with_for_update(skip_locked=True))
        ).all()
        for key in keys:
            await store.delete(key)
        if keys:
            await session.execute(delete(ObjectRemoval).where(ObjectRemoval.object_key.in_(keys)))
    return len(keys)


async def sweep(db: Database, store: ObjectStore) -> int:
    done = 0
    for step in (expire, purge, remove):
        while (count := await step(db, store)) > 0:
            done += count
    return done


async def run(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    while True:
        try:
            done = await sweep(app.state.db, app.state.store)
            if done:
                log.info("report files cleaned", count=done)
        except Exception as exc:  # storage or database down: try again next pass
            log.error("report cleanup failed", error=repr(exc)[:300])
        await asyncio.sleep(settings.cleanup_seconds)
