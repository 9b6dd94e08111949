"""Service-to-service routes (not routed by the gateway; a service token is required)."""

from typing import Any

from fastapi import APIRouter, Request, status

from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, ok
from pfms_platform.security import CallingService
from pfms_report import store
from pfms_report.schemas import InternalGenerateReport, ReportOut

router = APIRouter(prefix="/internal/v1/reports", tags=["internal"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=Envelope[ReportOut])
async def generate_for(
    body: InternalGenerateReport, caller: CallingService, session: Session, request: Request
) -> dict[str, Any]:
    """Queue a report for `user_id` on a service's behalf (the tax service asks for tax reports)."""
    limit = request.app.state.settings.max_open_per_user
    row = await store.create_from(session, body.user_id, body, caller, limit)
    return ok(store.out(row))
