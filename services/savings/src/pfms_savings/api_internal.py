"""Internal routes (service token, not routed by the gateway): run the scheduled auto-save pass now.

Operators and the end-to-end tests use it; `day` lets a test move the clock forward and is refused
in production, where the pass always runs for the real today.
"""

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request

from pfms_platform.envelope import ok
from pfms_platform.errors import Forbidden
from pfms_platform.schemas import Body
from pfms_platform.security import CallingService
from pfms_savings import jobs
from pfms_savings.settings import Settings

router = APIRouter(prefix="/internal/v1/savings", tags=["internal"], include_in_schema=False)


class RunJob(Body):
    day: dt.date | None = None


@router.post("/jobs/scheduled")
async def run_scheduled(body: RunJob, request: Request, _: CallingService) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    if body.day is not None and settings.environment == "production":
        raise Forbidden("The day of the pass cannot be chosen in production")
    tally = await jobs.run_scheduled(request.app.state.db, body.day or settings.today(), settings.catch_up_limit)
    return ok(vars(tally))
