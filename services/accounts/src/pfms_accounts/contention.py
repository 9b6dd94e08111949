"""A payment request PostgreSQL aborts for lock contention (a deadlock victim, a serialization failure) is run
again instead of answering 500.

Every payment step takes its locks in one order (the payment row, then all its accounts in id order in one
statement), so the saga's own steps do not deadlock each other. What can remain is contention with work
that locks accounts in several statements in one transaction (a consumer applying a batch of events, the
purge of a deleted person): the request's work runs in a savepoint, and a try PostgreSQL aborts is rolled
back to it (its locks released, the Idempotency-Key row still held) and run again after a short jittered
pause, a bounded number of times.
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_platform.logging import get_logger
from pfms_platform.resilience import retrying

log = get_logger(__name__)

T = TypeVar("T")

RETRIED = frozenset({"40P01", "40001"})
"""SQLSTATEs of `deadlock_detected` and `serialization_failure`: nothing was kept, the same work may succeed."""


class Contended(Exception):
    """The try was aborted by PostgreSQL for lock contention (retried)."""


def contended(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RETRIED


async def retried(session: AsyncSession, run: Callable[[], Awaitable[T]], attempts: int = 4) -> T:
    """`run()` in a savepoint, again (up to `attempts` tries) when PostgreSQL aborts it for contention."""
    async for attempt in retrying(attempts, 0.05, max_delay=0.5, retry_on=(Contended,)):
        with attempt:
            try:
                async with session.begin_nested():
                    return await run()
            except DBAPIError as exc:
                if not contended(exc):
                    raise
                log.info("payment step retried after lock contention", sqlstate=getattr(exc.orig, "sqlstate", None))
                raise Contended(str(exc.orig)[:200]) from exc
    raise AssertionError("unreachable: retrying re-raises the last error")
