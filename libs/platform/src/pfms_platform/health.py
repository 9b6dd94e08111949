"""Liveness and readiness: `/ready` checks the real dependencies, each with a short timeout."""

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

ReadyCheck = Callable[[Request], Awaitable[None]]

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process is serving")
async def health(request: Request) -> dict[str, str]:
    return {"status": "ok", "service": request.app.state.settings.service_name}


@router.get("/ready", summary="Readiness: database, broker and cache reachable")
async def ready(request: Request) -> JSONResponse:
    checks: dict[str, ReadyCheck] = request.app.state.ready_checks
    timeout = request.app.state.settings.ready_timeout_seconds

    async def run(check: ReadyCheck) -> str:
        try:
            await asyncio.wait_for(check(request), timeout)
            return "ok"
        except Exception as exc:
            return f"fail: {type(exc).__name__}"

    results = dict(zip(checks, await asyncio.gather(*(run(c) for c in checks.values())), strict=True))
    healthy = all(v == "ok" for v in results.values())
    return JSONResponse(
        {"status": "ready" if healthy else "not ready", "checks": results}, status_code=200 if healthy else 503
    )


async def check_database(request: Request) -> None:
    await request.app.state.db.ping()


async def check_redis(request: Request) -> None:
    await request.app.state.redis.ping()


async def check_broker(request: Request) -> None:
    if not request.app.state.bus.ready:
        raise ConnectionError("broker not connected")
    consumer = getattr(request.app.state, "consumer", None)
    if consumer is not None and not consumer.ready.is_set():  # connected, but its queue not yet taken
        raise ConnectionError("not subscribed to its queue")
