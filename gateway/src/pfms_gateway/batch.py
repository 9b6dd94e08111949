"""Write coalescing: writes made while handling one batch of ready events go out together after it.

On a busy gateway every write wakes another process (the client, an upstream), and the woken
process tends to preempt the gateway right there; with writes flushed once per event-loop
iteration the gateway is preempted about once per batch instead of once per request.
"""

from __future__ import annotations

import asyncio

_EOF = object()
_CLOSE = object()


class Writer:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: list[tuple[asyncio.WriteTransport, object]] = []
        self.scheduled = False

    def _schedule(self) -> None:
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)

    def write(self, transport: asyncio.WriteTransport, data: bytes) -> None:
        self.pending.append((transport, data))
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)

    def write_eof(self, transport: asyncio.WriteTransport) -> None:
        self.pending.append((transport, _EOF))
        self._schedule()

    def close(self, transport: asyncio.BaseTransport) -> None:
        self.pending.append((transport, _CLOSE))  # type: ignore[arg-type]
        self._schedule()

    def flush(self) -> None:
        self.scheduled = False
        pending, self.pending = self.pending, []
        for transport, data in pending:
            if data.__class__ is bytes:
                if not transport.is_closing():
                    transport.write(data)
            elif data is _CLOSE:
                transport.close()
            elif not transport.is_closing():
                transport.write_eof()
