"""Calling something that may be slow or down: a circuit breaker, a retry policy and a rate limit.

Shared by market-data's providers and the internal service client, so every outbound call in the
fleet fails the same way: a few quick retries with backoff, then the breaker opens and callers get
`CircuitOpen` at once (no piling onto a dead upstream) until `reset_seconds` have passed and one
trial call is let through.
"""

import asyncio
import time
from collections.abc import Callable
from types import TracebackType

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter


class CircuitOpen(Exception):
    """The breaker is open: the upstream failed too often recently and is not being called."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit '{name}' is open; retry in {retry_after:.1f}s")
        self.name = name
        self.retry_after = retry_after


class Breaker:
    """Closed → open after `failure_threshold` consecutive failures → half-open after `reset_seconds`.

    Half-open lets one call through: success closes the breaker, failure opens it again. Exceptions
    listed in `exclude` (e.g. "unknown symbol") are answers, not failures, and never trip it.
    """

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        reset_seconds: float = 30.0,
        *,
        exclude: tuple[type[BaseException], ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_seconds = reset_seconds
        self.exclude = exclude
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_seconds:
            return "half-open"
        return "open"

    async def __aenter__(self) -> "Breaker":
        state = self.state
        if state == "open":
            assert self._opened_at is not None
            raise CircuitOpen(self.name, self.reset_seconds - (self._clock() - self._opened_at))
        if state == "half-open":
            if self._trial_running:
                raise CircuitOpen(self.name, 0.0)
            self._trial_running = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._trial_running = False
        if exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            return
        if exc_type is None or issubclass(exc_type, self.exclude):
            self._failures = 0
            self._opened_at = None
            return
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()


def retrying(
    attempts: int = 3,
    base_delay: float = 0.1,
    *,
    max_delay: float = 2.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
) -> AsyncRetrying:
    """Up to `attempts` tries with jittered exponential backoff; re-raises the last error.

    `CircuitOpen` is never retried: the breaker has already decided the upstream is down.
    Use as `async for attempt in retrying(...): with attempt: ...`.
    """
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=base_delay, max=max_delay, jitter=base_delay),
        retry=retry_if_exception(lambda e: isinstance(e, retry_on) and not isinstance(e, CircuitOpen)),
        reraise=True,
    )


class RateLimit:
    """Token bucket for one upstream: at most `rate` calls per second on average, bursts up to `burst`.

    `acquire()` waits for a token rather than failing, up to `max_wait` seconds; beyond that it
    raises `RateLimited`, so a caller never queues for longer than its own timeout.
    """

    def __init__(
        self, rate: float, burst: int = 1, *, max_wait: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.max_wait = max_wait
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        async with self._lock:
            self._refill()
            wait = (1.0 - self._tokens) / self.rate if self._tokens < 1.0 else 0.0
            if wait > self.max_wait:
                raise RateLimited(wait)
            if wait > 0:
                await asyncio.sleep(wait)
                self._refill()
            self._tokens -= 1.0


class RateLimited(Exception):
    """Waiting for the upstream's rate limit would take longer than the caller allows."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limit: next call possible in {wait:.2f}s")
        self.wait = wait
