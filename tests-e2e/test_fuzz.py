"""Property-based fuzzing of every service's API through the gateway (schemathesis, fuzzing.py).

A registered user calls every operation of the service's OpenAPI with valid and invalid data: no
answer may be a 5xx, every status code and body must be the documented ones, and invalid data must
be refused. The default run draws two examples per operation and mode with a fixed seed (CI-stable);
`-m slow` draws fifteen and shrinks what it finds (fifty would not fit the slow session's 45 minutes).
"""

import asyncio

import httpx
import pytest
import redis
from fuzzing import Finding, Target, fuzz
from journeys import sign_up

from pfms_local.fleet import Fleet
from pfms_platform.catalogue import SERVICES

pytestmark = pytest.mark.e2e

QUICK_EXAMPLES = 2
THOROUGH_EXAMPLES = 15
THOROUGH_PARTS = 6
"""The thorough run splits each service's operations in parts, each its own test within the 300 s limit."""


async def _target(fleet: Fleet, gateway: httpx.AsyncClient, name: str) -> tuple[Target, redis.Redis]:
    """The service's schema, called as a fresh registered user (the auth fuzz may log them out or
    delete them). The product's 100 requests/min per user would turn most calls into 429s, so its
    Redis counter is cleared before each call; the limit itself is tested in libs/platform."""
    person = await sign_up(gateway)
    spec = (await gateway.get(f"{fleet.url(name)}/openapi.json")).json()
    counters = redis.Redis.from_url(fleet.stack.redis.url(fleet.redis_db))

    def lift_limit() -> None:
        keys = list(counters.scan_iter(f"rl:user:{person.user_id}:*"))
        if keys:
            counters.delete(*keys)

    info = next(s for s in SERVICES if s.name == name)
    target = Target(spec, fleet.gateway_url, person.headers, info.paths, before_call=lift_limit)
    return target, counters


def _report(name: str, target: Target, findings: list[Finding]) -> str:
    lines = [f"{name}: {len(findings)} operation(s) failed; statuses seen {dict(sorted(target.statuses.items()))}"]
    lines += [f"\n=== {f.operation} ({f.mode} data)\n{f.error}" for f in findings]
    return "\n".join(lines)


async def _fuzz_service(
    fleet: Fleet, gateway: httpx.AsyncClient, name: str, examples: int, *, shrink: bool, part: tuple[int, int]
) -> None:
    whole = part[1] == 1
    target, counters = await _target(fleet, gateway, name)
    try:
        findings = await asyncio.to_thread(fuzz, target, examples=examples, shrink=shrink, part=part)
    finally:
        counters.close()
    assert not findings, _report(name, target, findings)
    if not target.statuses:
        return  # a part of the thorough run that holds no operation
    assert set(target.statuses) - {401}, f"{name}: every call answered 401, the token never got past the door"
    if whole:  # across a whole service something must work; a part may hold only refusals (random symbols)
        successes = sum(n for status, n in target.statuses.items() if 200 <= status < 300)
        assert successes, f"{name}: no call succeeded: {dict(target.statuses)}"


@pytest.mark.parametrize("name", [s.name for s in SERVICES])
async def test_fuzz_quick(fleet: Fleet, gateway: httpx.AsyncClient, name: str) -> None:
    await _fuzz_service(fleet, gateway, name, QUICK_EXAMPLES, shrink=False, part=(0, 1))


@pytest.mark.slow
@pytest.mark.parametrize("part", range(THOROUGH_PARTS))
@pytest.mark.parametrize("name", [s.name for s in SERVICES])
async def test_fuzz_thorough(fleet: Fleet, gateway: httpx.AsyncClient, name: str, part: int) -> None:
    await _fuzz_service(fleet, gateway, name, THOROUGH_EXAMPLES, shrink=True, part=(part, THOROUGH_PARTS))
