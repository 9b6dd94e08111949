"""The event intake: the platform consumer's batches, with one `plan` for all the intents of a batch.

Fan-out is the hot path (a price move or a group of thousands), so events that arrive together are
applied together: the platform consumer (pfms_platform.events.consumer) gives the inbox, ack after
commit, dead-lettering and the batches — one inbox insert, one commit, then one ack; if a batch fails,
each of its events is retried alone, so one poison event is parked by the broker's delivery limit
without holding the others back. Here a batch may linger a little to fill, and its person events'
intents are planned together instead of handler by handler.
"""

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert

from pfms_notification.events import IDENTITY, planned
from pfms_notification.planner import Planned, plan
from pfms_platform.events import causation
from pfms_platform.events.consumer import Consumer, Delivery
from pfms_platform.events.tables import InboxEvent


class BatchConsumer(Consumer):
    """Same queue, bindings, inbox and batching as `Consumer`; larger batches, planned together."""

    batch_limit = 500
    linger_seconds = 0.02

    async def apply_batch(self, items: list[Delivery]) -> set[str]:
        """Apply every event not seen before, in arrival order, in one transaction; returns their ids."""
        async with self.db.sessions() as session, session.begin():
            inbox = InboxEvent.__table__
            rows = [{"consumer": self.service, "event_id": e.id, "event_type": e.type} for _m, e, _d in items]
            inserted = await session.execute(
                insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id),
                list({r["event_id"]: r for r in rows}.values()),
            )
            fresh = set(inserted.scalars().all())
            now = datetime.now(UTC)
            pending: list[Planned] = []
            done: set[str] = set()
            for _message, event, data in items:
                if event.id not in fresh:
                    continue
                fresh.discard(event.id)  # the same event twice in one batch applies once
                done.add(event.id)
                if event.type in IDENTITY:
                    await plan(session, pending, now)  # what came before a deletion is purged with it
                    pending = []
                    with causation.handling(event):
                        await IDENTITY[event.type](session, data)
                else:
                    pending.extend(planned(data, event.id))
            await plan(session, pending, now)
        return done
