"""Internal routes (service token, not routed by the gateway): run the daily loan job now.

Operators and the end-to-end tests use it; `day` lets a test move the clock forward and is refused
in production, where the job always runs for the real today.
"""

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request

from pfms_loan import jobs
from pfms_loan.schemas_common import Body
from pfms_loan.settings import Settings
from pfms_platform.envelope import ok
from pfms_platform.errors import Forbidden
from pfms_platform.security import CallingService

router = APIRouter(prefix="/internal/v1/loans", tags=["internal"], include_in_schema=False)


class RunJob(Body):
    day: dt.date | None = None


@router.post("/jobs/daily")
async def run_daily(body: RunJob, request: Request, _: CallingService) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    if body.day is not None and settings.environment == "production":
        raise Forbidden("The day of the job cannot be chosen in production")
    tally = await jobs.daily(request.app.state.db, body.day or settings.today(), settings.due_horizon_days)
    return ok(vars(tally))
