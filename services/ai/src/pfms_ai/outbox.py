"""Publishing from MongoDB: events are queued on the unit that makes the change, a relay sends them.

The same promise as the platform's PostgreSQL outbox: an event leaves only if the change that caused
it was committed, and it leaves at least once (publisher confirms; a document is marked sent only after
the broker confirmed it). Consumers' inboxes make a second delivery harmless.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

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
    unit.outbox.append(
        {
            "_id": event.id,
            "exchange": data.exchange,
            "routing_key": event.type,
            "payload": event.model_dump(mode="json"),
            "user_id": str(data.user_id) if data.user_id else None,
        }
    )
    return event


class MongoOutboxRelay:
    """Publishes pending outbox documents (each a list of events committed together) with publisher
    confirms, then marks them sent; a document whose events partly failed records the ones that left,
    so its retry sends only the rest.

    Several replicas may pick the same pending document; it is then published twice, which the
    receivers' inboxes absorb (the PostgreSQL relay avoids that with SKIP LOCKED, MongoDB has none).
    """

    def __init__(self, store: Store, bus: Bus, service: str, *, batch: int = 500, idle_seconds: float = 1.0) -> None:
        self.store = store
        self.bus = bus
        self.service = service
        self.batch = batch
        """Events per round, about: whole documents are taken, the oldest first, until they hold this many."""
        self.idle_seconds = idle_seconds
        self.in_flight = 100
        """Publishes awaiting the broker's confirm at once. Each may wait 10 s for it; a whole round of 500
        at once, queued behind a busy broker, overran that, and every event that timed out went again
        (duplicates the receivers absorb, but duplicates)."""

    async def publish_batch(self) -> tuple[int, int, int]:
        """Publish one round; returns (events read, events published, events failed). Documents with a
        failed event stay pending with the error."""
        outbox = self.store.db[OUTBOX]
        docs: list[dict[str, Any]] = []
        size = 0
        async for doc in outbox.find({"sent_at": None}).sort("created_at", 1).batch_size(4):
            docs.append(doc)
            size += len(_events(doc))
            if size >= self.batch:
                break
        if not docs:
            return 0, 0, 0
        todo = [(d, e) for d in docs for e in _events(d) if e["_id"] not in d.get("published", [])]
        slots = asyncio.Semaphore(self.in_flight)

        async def send(e: dict[str, Any]) -> None:
            async with slots:
                await self.bus.publish(e["exchange"], e["routing_key"], e["payload"], message_id=e["_id"])

        results = await asyncio.gather(*(send(e) for _, e in todo), return_exceptions=True)
        sent: dict[str, list[str]] = {d["_id"]: [] for d in docs}
        errors: dict[str, BaseException] = {}
        for (d, e), result in zip(todo, results, strict=True):
            if isinstance(result, BaseException):
                errors[d["_id"]] = result
            else:
                sent[d["_id"]].append(e["_id"])
                EVENTS_PUBLISHED.labels(self.service, e["routing_key"]).inc()
        done = [i for i in sent if i not in errors]
        if done:
            await outbox.update_many({"_id": {"$in": done}}, {"$set": {"sent_at": datetime.now(UTC)}})
        if errors:
            await outbox.bulk_write(
                [
                    UpdateOne(
                        {"_id": i},
                        {
                            "$addToSet": {"published": {"$each": sent[i]}},
                            "$inc": {"attempts": 1},
                            "$set": {"last_error": repr(error)[:500]},
                        },
                    )
                    for i, error in errors.items()
                ]
            )
            log.warning("outbox publish failed", documents=len(errors), error=repr(next(iter(errors.values())))[:200])
        published = sum(len(ids) for ids in sent.values())
        return size, published, len(todo) - published

    async def pending(self) -> int:
        """Pending events (exported as a gauge); sent documents past their retention are dropped meanwhile."""
        outbox = self.store.db[OUTBOX]
        await outbox.delete_many({"sent_at": {"$ne": None, "$lt": datetime.now(UTC) - SENT_RETENTION}})
        docs = await outbox.find({"sent_at": None}, {"events._id": 1, "published": 1}).to_list(None)
        n = sum(len(_events(d)) - len(d.get("published", [])) for d in docs)
        OUTBOX_LAG.labels(self.service).set(n)
        return n

    async def run(self) -> None:
        await self.bus.wait_connected()
        backoff = 0.2
        wake = self.store.outbox_written
        while True:
            wake.clear()
            try:
                n, _, failed = await self.publish_batch()
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


def _events(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of an outbox document; one written before documents held lists is its own event."""
    return list(document["events"]) if "events" in document else [document]
