"""Server-Sent Events: `GET /api/v1/market/stream?symbols=AAPL,BTC` pushes `price.updated` as it happens.

Each replica keeps one PostgreSQL connection LISTENing on the channel the `price.updated` handler
NOTIFYs (see events.py), and fans each payload out to its subscribers' queues. A slow client's
queue is bounded: when full, its oldest update is dropped rather than stalling everyone.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from pfms_market_data.domain import normalise_symbol
from pfms_market_data.events import CHANNEL
from pfms_platform.errors import Invalid
from pfms_platform.logging import get_logger
from pfms_platform.security import CurrentUser

log = get_logger(__name__)

QUEUE_SIZE = 100
MAX_SYMBOLS = 50


class Broadcaster:
    def __init__(self, database_url: str, *, heartbeat_seconds: float = 15.0) -> None:
        self.dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.heartbeat_seconds = heartbeat_seconds
        self.subscribers: set[tuple[frozenset[str], asyncio.Queue[dict[str, Any]]]] = set()
        self.connection: asyncpg.Connection | None = None
        self.listening = asyncio.Event()

    async def run(self) -> None:
        """Keep a LISTEN connection open, reconnecting after a database restart."""
        while True:
            try:
                lost = asyncio.Event()
                self.connection = await asyncpg.connect(self.dsn)
                self.connection.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await self.connection.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                await lost.wait()
            except (OSError, asyncpg.PostgresError) as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                log.warning("price listener down, reconnecting", error=str(exc))
            finally:
                self.listening.clear()
                if self.connection is not None and not self.connection.is_closed():
                    await self.connection.close()
            await asyncio.sleep(1.0)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        update = json.loads(payload)
        for symbols, queue in list(self.subscribers):
            if update.get("symbol") in symbols:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(update)

    async def events(self, symbols: frozenset[str], request: Request) -> AsyncIterator[str]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        entry = (symbols, queue)
        self.subscribers.add(entry)
        try:
            yield f": subscribed to {','.join(sorted(symbols))}\n\n"
            while not await request.is_disconnected():
                try:
                    update = await asyncio.wait_for(queue.get(), self.heartbeat_seconds)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: price.updated\ndata: {json.dumps(update, separators=(',', ':'))}\n\n"
        finally:
            self.subscribers.discard(entry)


router = APIRouter(prefix="/api/v1/market", tags=["market"])


@router.get("/stream", response_class=StreamingResponse)
async def stream(
    request: Request, _: CurrentUser, symbols: Annotated[str, Query(min_length=1, max_length=1000)]
) -> StreamingResponse:
    """text/event-stream of `price.updated` for the listed symbols (comma-separated, pairs as EUR-USD)."""
    try:
        wanted = frozenset(normalise_symbol(s) for s in symbols.split(",") if s.strip())
    except ValueError as exc:
        raise Invalid(str(exc), field="symbols") from exc
    if not wanted or len(wanted) > MAX_SYMBOLS:
        raise Invalid(f"between 1 and {MAX_SYMBOLS} symbols", field="symbols")
    broadcaster: Broadcaster = request.app.state.broadcaster
    return StreamingResponse(
        broadcaster.events(wanted, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
