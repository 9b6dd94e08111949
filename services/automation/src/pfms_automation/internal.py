"""Service-to-service routes (service token; not routed by the gateway)."""

import uuid
from typing import Any

from fastapi import APIRouter, Request

from pfms_automation.api import trigger_rules
from pfms_automation.schemas import InternalTrigger, TriggerResult
from pfms_contracts import CloudEvent
from pfms_platform.db import Session
from pfms_platform.envelope import Envelope, ok
from pfms_platform.events import causation
from pfms_platform.security import CallingService

router = APIRouter(prefix="/internal/v1/automation", tags=["internal"])


def space_in(data: dict[str, Any]) -> uuid.UUID | None:
    """The space a supplied event's object belongs to (its `space_id`), if it names a valid one."""
    value = data.get("space_id")
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@router.post("/trigger", response_model=Envelope[TriggerResult])
async def trigger(body: InternalTrigger, caller: CallingService, session: Session, request: Request) -> dict[str, Any]:
    """Run a user's rules on an event another service supplies; its causation chain counts toward the loop limit.
    An event whose `data.space_id` names a space runs that space's rules instead (the caller vouches for it)."""
    cause = CloudEvent(
        id=body.event_id or str(uuid.uuid4()),
        source=caller,
        type=body.event_type,
        causationchain=body.causationchain,
        data=body.data,
    )
    with causation.handling(cause):
        result = await trigger_rules(
            session,
            request,
            body.user_id,
            body.model_copy(update={"event_id": cause.id}),
            depth=causation.depth(),
            space_id=space_in(body.data),
        )
    return ok(result)
