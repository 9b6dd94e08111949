"""When the consumer's batcher waits for a batch to fill: a lone event goes at once, a stream lingers."""

import asyncio
import time
from typing import Any, cast

from pfms_ai.inbox import MongoConsumer, _Pending


def consumer(linger_seconds: float) -> MongoConsumer:
    return MongoConsumer(cast(Any, None), cast(Any, None), "ai", {}, None, linger_seconds=linger_seconds)


def pending() -> _Pending:
    return _Pending(cast(Any, None), cast(Any, None), asyncio.get_running_loop().create_future())


async def test_a_lone_event_with_nothing_behind_it_does_not_wait_for_a_linger() -> None:
    c = consumer(linger_seconds=5)
    c._pending.append(pending())
    began = time.perf_counter()
    await c._linger()
    assert time.perf_counter() - began < 1


async def test_events_still_arriving_make_the_batch_linger_until_they_stop() -> None:
    c = consumer(linger_seconds=0.2)
    c._pending.append(pending())

    async def stream() -> None:
        for _ in range(4):
            c._pending.append(pending())
            await asyncio.sleep(0.01)

    arriving = asyncio.create_task(stream())
    await c._linger()
    assert arriving.done() and len(c._pending) == 5
