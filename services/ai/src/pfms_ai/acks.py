"""Acknowledging a batch with one frame: `basic.ack` with `multiple` instead of one ack per message.

The platform consumer acks each message as its handler finishes; applied in batches, that was one
AMQP frame and one socket write per event. Here each delivery is wrapped so its `ack()` only records
it; once the batch's acks are in (the next loop turn), one `ack(multiple=True)` settles every
delivery up to the highest tag below the oldest one still open. An ack above an open delivery (one
waiting out its retry backoff, say) is sent alone, since a multiple ack would settle the open one
too. A nack or reject goes to the broker at once and counts as settled only once it was written, so
a later multiple ack can never cover a message that is to be redelivered.
"""

import asyncio
from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from pfms_platform.logging import get_logger

log = get_logger(__name__)


class _Channel:
    """Deliveries of one channel (tags restart on a new channel after a reconnect)."""

    def __init__(self) -> None:
        self.open: set[int] = set()
        self.acked: dict[int, AbstractIncomingMessage] = {}


class BatchedAcks:
    def __init__(self) -> None:
        self._channels: dict[object, _Channel] = {}
        self._flush_scheduled = False
        self._sending: set[asyncio.Task[None]] = set()

    def delivered(self, message: AbstractIncomingMessage) -> AbstractIncomingMessage:
        """The message as the consumer should see it: its `ack()` is deferred to the batch's one frame."""
        self._channel(message).open.add(_tag(message))
        return _Deferred(message, self)  # type: ignore[return-value]

    def _channel(self, message: AbstractIncomingMessage) -> _Channel:
        return self._channels.setdefault(message.channel, _Channel())

    def ack(self, message: AbstractIncomingMessage) -> None:
        state = self._channel(message)
        tag = _tag(message)
        state.open.discard(tag)
        state.acked[tag] = message
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def settled(self, message: AbstractIncomingMessage) -> None:
        """A nack or reject the broker has been sent."""
        self._channel(message).open.discard(_tag(message))

    def _flush(self) -> None:
        self._flush_scheduled = False
        for key, state in list(self._channels.items()):
            if not state.acked:
                if not state.open:
                    del self._channels[key]
                continue
            oldest_open = min(state.open, default=None)
            below = [t for t in state.acked if oldest_open is None or t < oldest_open]
            above = [state.acked.pop(t) for t in list(state.acked) if oldest_open is not None and t > oldest_open]
            if below:
                last = state.acked[max(below)]
                state.acked.clear()
                self._send(last, multiple=True)
            for message in above:
                self._send(message, multiple=False)

    def _send(self, message: AbstractIncomingMessage, *, multiple: bool) -> None:
        task = asyncio.create_task(self._ack(message, multiple))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    @staticmethod
    async def _ack(message: AbstractIncomingMessage, multiple: bool) -> None:
        try:
            await message.ack(multiple=multiple)
        except Exception as exc:  # the channel is gone: the broker redelivers, the inbox absorbs the repeat
            log.warning("ack failed", error=str(exc)[:200])


class _Deferred:
    """Stands in for the delivered message: everything is the message's own except settling it."""

    def __init__(self, message: AbstractIncomingMessage, acks: BatchedAcks) -> None:
        self._message = message
        self._acks = acks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)

    async def ack(self, multiple: bool = False) -> None:
        self._acks.ack(self._message)

    async def nack(self, multiple: bool = False, requeue: bool = True) -> None:
        try:
            await self._message.nack(requeue=requeue)
        finally:
            self._acks.settled(self._message)

    async def reject(self, requeue: bool = False) -> None:
        try:
            await self._message.reject(requeue=requeue)
        finally:
            self._acks.settled(self._message)


def _tag(message: AbstractIncomingMessage) -> int:
    tag = message.delivery_tag
    assert tag is not None, "a message consumed with acks has a delivery tag"
    return tag
