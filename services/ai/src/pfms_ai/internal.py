"""Service-to-service routes (service token; never routed by the gateway)."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from motor.motor_asyncio import AsyncIOMotorDatabase

from pfms_ai.store import USER_COLLECTIONS
from pfms_platform.envelope import Envelope, ok
from pfms_platform.export import Export
from pfms_platform.security import CallingService

router = APIRouter(prefix="/internal/v1", tags=["internal"])

HIDDEN_FIELDS = {"blob": 0}
"""Model weights are derived data, not the user's: the export names the model, not its pickle."""


async def export_user(db: AsyncIOMotorDatabase[Any], user_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every document of the user, collection by collection, in JSON-ready form."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in USER_COLLECTIONS:
        docs = await db[name].find({"user_id": str(user_id)}, HIDDEN_FIELDS).to_list(None)
        tables[name] = [_json(doc) for doc in docs]
    return tables


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@router.get("/export", response_model=Envelope[Export])
async def export(user_id: uuid.UUID, request: Request, _: CallingService) -> dict[str, Any]:
    """GDPR export in the shape of the platform's PostgreSQL export (collections stand for tables)."""
    tables = await export_user(request.app.state.store.db, user_id)
    return ok(Export(service="ai", tables=tables).model_dump(mode="json"))
