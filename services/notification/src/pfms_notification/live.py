"""Live in-app stream: one LISTEN connection per process wakes the SSE streams of the people concerned.

`plan` sends `pg_notify(pfms_notification_live, "<user ids>")` in the transaction that stores the
notifications, so a stream is woken only for committed rows, whichever replica stored them; the
stream then reads what is new for its person since the last item it sent.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import literal, select, tuple_

from pfms_notification.models import Notification
from pfms_notification.planner import LIVE_CHANNEL
from pfms_notification.schemas import NotificationOut
from pfms_platform.db import Database, sync_url
from pfms_platform.logging import get_logger

log = get_logger(__name__)


class LiveHub:
    def __init__(self, dsn: str) -> None:
        self.dsn = sync_url(dsn)
        self.listeners: dict[uuid.UUID, set[asyncio.Event]] = {}
        self.listening = asyncio.Event()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for raw in payload.split(","):
            try:
                user = uuid.UUID(raw)
            except ValueError:
                continue
            for wake in self.listeners.get(user, ()):
                wake.set()

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        lost = asyncio.Event()
        try:
            conn.add_termination_listener(lambda *_: lost.set())
            await conn.add_listener(LIVE_CHANNEL, self._on_notify)
            self.listening.set()
            for events in self.listeners.values():  # catch up on anything missed while reconnecting
                for wake in events:
                    wake.set()
            await lost.wait()
        finally:
            self.listening.clear()
            conn.terminate()  # a listen-only connection has nothing to finish; closing may wait on shutdown

    async def run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database restarting: streams keep their heartbeat meanwhile
                log.warning("live listen failed", error=str(exc)[:200])
            await asyncio.sleep(1)

    async def stream(
        self, db: Database, user: uuid.UUID, after: uuid.UUID | None, heartbeat: float
    ) -> AsyncIterator[str]:
        """Server-sent events: `notification` items as they are stored, `: ping` comments between them."""
        wake = asyncio.Event()
        self.listeners.setdefault(user, set()).add(wake)
        try:
            cursor = await self._cursor(db, user, after)
            yield "retry: 3000\n\n"
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), heartbeat)
                except TimeoutError:
                    yield ": ping\n\n"
                    continue
                wake.clear()
                async with db.sessions() as session:
                    rows = (
                        await session.scalars(
                            select(Notification)
                            .where(Notification.user_id == user, Notification.in_app.is_(True))
                            .where(
                                tuple_(Notification.created_at, Notification.id)
                                > tuple_(literal(cursor[0]), literal(cursor[1]))
                            )
                            .order_by(Notification.created_at, Notification.id)
                            .limit(100)
                        )
                    ).all()
                for row in rows:
                    cursor = (row.created_at, row.id)
                    yield f"id: {row.id}\nevent: notification\ndata: {NotificationOut.of(row).model_dump_json()}\n\n"
                if len(rows) == 100:
                    wake.set()
        finally:
            self.listeners[user].discard(wake)
            if not self.listeners[user]:
                del self.listeners[user]

    async def _cursor(self, db: Database, user: uuid.UUID, after: uuid.UUID | None) -> tuple[datetime, uuid.UUID]:
        """Resume after `Last-Event-ID` when the client sends one; otherwise start from now."""
        async with db.sessions() as session:
            if after is not None:
                row = await session.scalar(
                    select(Notification).where(Notification.user_id == user, Notification.id == after)
                )
                if row is not None:
                    return (row.created_at, row.id)
        return (datetime.now(UTC), uuid.UUID(int=(1 << 128) - 1))
