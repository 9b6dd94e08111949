"""The per-user limit against a real Redis: exact near the quota, shared by replicas, cheap far from it."""

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from pfms_devservers import Stack
from pfms_platform.ratelimit import UserRateLimiter

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = Redis.from_url(stack.redis.url(60), decode_responses=True)
    await client.flushdb()
    yield client
    await client.aclose()


async def test_the_request_after_the_quota_is_refused_with_the_time_to_wait(redis: Redis) -> None:
    limiter = UserRateLimiter(redis, 10)
    user = uuid.uuid4()
    answers = [await limiter.hit(user) for _ in range(12)]
    assert [reset > 0 for _, _, reset in answers] == [True] * 10 + [False] * 2
    limit, remaining, reset = answers[-1]
    assert (limit, remaining) == (10, 0) and -60 <= reset < 0


async def test_replicas_share_one_quota(redis: Redis) -> None:
    """Two processes' limiters count into the same Redis key: together they allow the quota, no more."""
    first, second = UserRateLimiter(redis, 100), UserRateLimiter(redis, 100)
    user = uuid.uuid4()
    allowed = 0
    for i in range(150):
        limiter = first if i % 2 else second
        if (await limiter.hit(user))[2] > 0:
            allowed += 1
        if i % 10 == 9:  # the replicas' flush loops
            await first.flush()
            await second.flush()
    assert allowed == 100


async def test_far_from_the_quota_requests_are_counted_locally_then_flushed(redis: Redis) -> None:
    limiter = UserRateLimiter(redis, 1000)
    user = uuid.uuid4()
    for _ in range(50):
        await limiter.hit(user)
    assert await redis.keys("rl:user:*") == []  # nothing sent yet: no round trip per request
    await limiter.flush()
    [key] = await redis.keys(f"rl:user:{user}:*")
    assert int(await redis.get(key) or 0) == 50
    assert 0 < await redis.ttl(key) <= 120
    other = UserRateLimiter(redis, 1000)
    await other.flush()
    for _ in range(5):
        await other.hit(user)
    await other.flush()
    assert int(await redis.get(key) or 0) == 55


async def test_forget_drops_a_deleted_users_counters_only(redis: Redis) -> None:
    limiter = UserRateLimiter(redis, 10)
    gone, kept = uuid.uuid4(), uuid.uuid4()
    for user in (gone, kept):
        for _ in range(9):  # past the exact share: counted in Redis
            await limiter.hit(user)
    await limiter.hit(gone)
    await limiter.forget(gone)
    await limiter.flush()
    assert [key async for key in redis.scan_iter(match=f"*{gone}*")] == []
    assert len([key async for key in redis.scan_iter(match=f"*{kept}*")]) == 1
    assert (await limiter.hit(gone))[1] == 9  # a fresh count
