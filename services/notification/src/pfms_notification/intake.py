"""The event intake: the platform consumer's promises (inbox, ack after commit, dead-letter) in batches.

Fan-out is the hot path (a price move or a group of thousands), so events that arrive together are
applied together: one inbox insert, one `plan` for all their intents, one commit, then one ack. If
a batch fails, each of its events is retried alone through the platform path, so one poison event
is parked by the broker's delivery limit without holding the others back.
"""

import asyncio
from datetime import UTC, datetime

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert

from pfms_contracts import CloudEvent, EventData, event_model
from pfms_notification.events import IDENTITY, planned
from pfms_notification.planner import Planned, plan
from pfms_platform.events import causation
from pfms_platform.events.consumer import Consumer
from pfms_platform.events.tables import InboxEvent
from pfms_platform.logging import get_logger
from pfms_platform.metrics import EVENTS_CONSUMED

log = get_logger(__name__)

Item = tuple[AbstractIncomingMessage, CloudEvent, EventData]


class BatchConsumer(Consumer):
    """Same queue, bindings and inbox as `Consumer`; messages are gathered and applied in batches."""

    batch_size = 500
    batch_wait = 0.02

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._incoming: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        await self._incoming.put(message)

    async def run(self) -> None:
        await self.subscribe(prefetch=self.batch_size * 2)
        while True:
            messages = [await self._incoming.get()]
            deadline = asyncio.get_running_loop().time() + self.batch_wait
            while len(messages) < self.batch_size:
                if self._incoming.empty():
                    left = deadline - asyncio.get_running_loop().time()
                    try:
                        messages.append(await asyncio.wait_for(self._incoming.get(), max(left, 0)))
                    except TimeoutError:
                        break
                else:
                    messages.append(self._incoming.get_nowait())
            await self.handle(messages)

    async def handle(self, messages: list[AbstractIncomingMessage]) -> None:
        items: list[Item] = []
        for message in messages:
            try:
                event = CloudEvent.model_validate_json(message.body)
                if event.type not in self.handlers:
                    await message.ack()
                    continue
                items.append((message, event, event_model(event.type).model_validate(event.data)))
            except (ValidationError, KeyError) as exc:
                log.error("poison event parked", queue=self.queue, error=str(exc)[:300])
                EVENTS_CONSUMED.labels(self.service, message.type or "unknown", "rejected").inc()
                await message.reject(requeue=False)
        if not items:
            return
        try:
            applied = await self.apply_batch(items)
            log.debug("batch applied", size=len(items), new=len(applied))
        except Exception as exc:
            log.warning("batch failed, applying one by one", size=len(items), error=str(exc)[:300])
            for message, _event, _data in items:
                await super().on_message(message)
            return
        await items[-1][0].ack(multiple=True)  # one frame acks the whole batch (delivery tags ascend)
        for _message, event, _data in items:
            EVENTS_CONSUMED.labels(self.service, event.type, "applied" if event.id in applied else "duplicate").inc()

    async def apply_batch(self, items: list[Item]) -> set[str]:
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
