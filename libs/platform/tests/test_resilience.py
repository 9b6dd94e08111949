"""The breaker opens, waits and lets one trial through; retries back off and stop; the bucket paces calls."""

import asyncio

import pytest

from pfms_platform.resilience import Breaker, CircuitOpen, RateLimit, RateLimited, retrying


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Boom(Exception):
    pass


class Answer(Exception):
    pass


async def fail(breaker: Breaker, exc: type[Exception] = Boom) -> None:
    with pytest.raises(exc):
        async with breaker:
            raise exc()


async def test_breaker_opens_after_threshold_and_recovers_after_reset() -> None:
    clock = Clock()
    breaker = Breaker("up", failure_threshold=3, reset_seconds=10, clock=clock)
    for _ in range(3):
        await fail(breaker)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen) as info:
        async with breaker:
            pytest.fail("an open breaker must not run the call")
    assert info.value.retry_after == pytest.approx(10)
    clock.now = 10
    assert breaker.state == "half-open"
    async with breaker:
        pass
    assert breaker.state == "closed"


async def test_half_open_failure_reopens_at_once() -> None:
    clock = Clock()
    breaker = Breaker("up", failure_threshold=2, reset_seconds=5, clock=clock)
    await fail(breaker)
    await fail(breaker)
    clock.now = 5
    await fail(breaker)
    assert breaker.state == "open"
    clock.now = 9
    assert breaker.state == "open"


async def test_half_open_lets_a_single_trial_through() -> None:
    clock = Clock()
    breaker = Breaker("up", failure_threshold=1, reset_seconds=1, clock=clock)
    await fail(breaker)
    clock.now = 1
    async with breaker:
        with pytest.raises(CircuitOpen):
            async with breaker:
                pass
    assert breaker.state == "closed"


async def test_success_resets_the_count_and_excluded_errors_do_not_trip() -> None:
    breaker = Breaker("up", failure_threshold=2, reset_seconds=1, exclude=(Answer,))
    await fail(breaker)
    async with breaker:
        pass
    await fail(breaker)
    assert breaker.state == "closed"
    for _ in range(5):
        await fail(breaker, Answer)
    assert breaker.state == "closed"


async def test_retrying_retries_then_reraises_the_last_error() -> None:
    calls = 0
    with pytest.raises(Boom):
        async for attempt in retrying(attempts=3, base_delay=0.001):
            with attempt:
                calls += 1
                raise Boom()
    assert calls == 3


async def test_retrying_stops_on_success_and_never_retries_an_open_circuit() -> None:
    calls = 0
    async for attempt in retrying(attempts=5, base_delay=0.001):
        with attempt:
            calls += 1
            if calls < 2:
                raise Boom()
    assert calls == 2
    calls = 0
    with pytest.raises(CircuitOpen):
        async for attempt in retrying(attempts=5, base_delay=0.001):
            with attempt:
                calls += 1
                raise CircuitOpen("up", 1.0)
    assert calls == 1


async def test_retrying_only_retries_the_listed_errors() -> None:
    calls = 0
    with pytest.raises(Answer):
        async for attempt in retrying(attempts=4, base_delay=0.001, retry_on=(Boom,)):
            with attempt:
                calls += 1
                raise Answer()
    assert calls == 1


async def test_rate_limit_paces_calls_and_refuses_long_waits() -> None:
    bucket = RateLimit(rate=50, burst=2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(5):
        await bucket.acquire()
    assert loop.time() - start >= 3 / 50 * 0.9
    slow = RateLimit(rate=0.1, burst=1, max_wait=1)
    await slow.acquire()
    with pytest.raises(RateLimited):
        await slow.acquire()
