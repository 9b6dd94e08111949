"""Publishing from MongoDB: events are queued on the unit that makes the change, a relay sends them.

The same promise as the platform's PostgreSQL outbox: an event leaves only if the change that caused
it was committed, and it leaves at least once (publisher confirms; a document is marked sent only after
the broker confirmed it). Consumers' inboxes make a second delivery harmless.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from pymongo import UpdateOne

from pfms_ai.store import OUTBOX, Store, Unit
from pfms_contracts import CloudEvent, EventData
from pfms_platform.events import causation
from pfms_platform.events.bus import Bus
from pfms_platform.logging import correlation_id, get_logger
from pfms_platform.metrics import EVENTS_PUBLISHED, OUTBOX_LAG

log = get_logger(__name__)

SENT_RETENTION = timedelta(days=1)
"""Sent documents stay this long for inspection; the relay drops older ones when it is idle (a TTL
index would be simpler, but every index slows the inserts the consumer makes per event)."""


def emit(unit: Unit, data: EventData, *, source: str) -> CloudEvent:
    """Queue an event on the unit of work; it leaves only if the unit commits.

    Inside an event handler the id is derived from the event being handled, so applying that event
    twice (possible without transactions) writes the same outbox document twice, not two events.
    """
    chain = causation.chain()
    event = CloudEvent.wrap(source, data, correlation_id=correlation_id.get(), causation_chain=causation.stamp())
    if chain:
        event.id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pfms:{chain[-1]}:{data.type}:{len(unit.outbox)}"))
    document = {
        "_id": event.id,
        "exchange": data.exchange,
        "routing_key": event.type,
        "payload": event.model_dump(mode="json"),
        "user_id": str(data.user_id) if data.user_id else None,
        "created_at": datetime.now(UTC),
        "sent_at": None,
        "attempts": 0,
    }
    unit.outbox.append(document)
    return event


class MongoOutboxRelay:
    """Publishes pending outbox documents in batches with publisher confirms, then marks them sent.

    Several replicas may pick the same pending document; it is then published twice, which the
    receivers' inboxes absorb (the PostgreSQL relay avoids that with SKIP LOCKED, MongoDB has none).
    """

    def __init__(self, store: Store, bus: Bus, service: str, *, batch: int = 500, idle_seconds: float = 1.0) -> None:
        self.store = store
        self.bus = bus
        self.service = service
        self.batch = batch
        self.idle_seconds = idle_seconds

    async def publish_batch(self) -> tuple[int, int]:
        """Publish one batch; returns (published, failed). Failed documents stay pending with their error."""
        outbox = self.store.db[OUTBOX]
        docs = await outbox.find({"sent_at": None}).sort("created_at", 1).limit(self.batch).to_list(self.batch)
        if not docs:
            return 0, 0
        results = await asyncio.gather(
            *(self.bus.publish(d["exchange"], d["routing_key"], d["payload"], message_id=d["_id"]) for d in docs),
            return_exceptions=True,
        )
        now = datetime.now(UTC)
        sent = [d for d, r in zip(docs, results, strict=True) if not isinstance(r, BaseException)]
        failed = [(d, r) for d, r in zip(docs, results, strict=True) if isinstance(r, BaseException)]
        if sent:
            await outbox.update_many(
                {"_id": {"$in": [d["_id"] for d in sent]}},
                {"$set": {"sent_at": now}},
            )
            for d in sent:
                EVENTS_PUBLISHED.labels(self.service, d["routing_key"]).inc()
        if failed:
            await outbox.bulk_write(
                [
                    UpdateOne({"_id": d["_id"]}, {"$inc": {"attempts": 1}, "$set": {"last_error": repr(e)[:500]}})
                    for d, e in failed
                ]
            )
            log.warning("outbox publish failed", failed=len(failed), error=repr(failed[0][1])[:200])
        return len(sent), len(failed)

    async def pending(self) -> int:
        """Pending documents (exported as a gauge); sent ones past their retention are dropped meanwhile."""
        outbox = self.store.db[OUTBOX]
        await outbox.delete_many({"sent_at": {"$ne": None, "$lt": datetime.now(UTC) - SENT_RETENTION}})
        n = await outbox.count_documents({"sent_at": None})
        OUTBOX_LAG.labels(self.service).set(n)
        return int(n)

    async def run(self) -> None:
        await self.bus.wait_connected()
        backoff = 0.2
        wake = self.store.outbox_written
        while True:
            wake.clear()
            try:
                n, failed = await self.publish_batch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database unreachable: retry with backoff
                log.warning("outbox relay error", error=str(exc)[:200])
                failed = 1
                n = 0
            if failed:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.2
            if n < self.batch:
                try:
                    await asyncio.wait_for(wake.wait(), self.idle_seconds)
                except TimeoutError:
                    await self.pending()
