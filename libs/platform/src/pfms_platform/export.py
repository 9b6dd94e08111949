"""A person's data as one service holds it: the GDPR export, answered the same way by every service.

The report service asks each service for `GET /internal/v1/export?user_id=` and zips the answers.
By default a service exports every one of its tables that has a `user_id` column; a service whose
data hangs off something else (a group's expenses hang off the group) passes its own `exporter`,
usually `user_rows` plus the rows it reaches through the user's memberships.
"""

import base64
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from pfms_platform.db import Session, service_metadata
from pfms_platform.envelope import Envelope, ok
from pfms_platform.security import CallingService

Rows = dict[str, list[dict[str, Any]]]
Exporter = Callable[[AsyncSession, UUID], Awaitable[Rows]]


class Export(BaseModel):
    service: str
    tables: Rows


def _plain(value: Any) -> Any:
    """Bytes (packed series, hashes) travel as base64; everything else serialises as the API does."""
    return base64.b64encode(value).decode() if isinstance(value, bytes | memoryview) else value


async def rows(session: AsyncSession, query: Select[Any]) -> list[dict[str, Any]]:
    """A core `select(table)` as plain dicts, ready for the export's JSON."""
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in await session.execute(query)]


async def user_rows(session: AsyncSession, user_id: UUID, package: str) -> Rows:
    """Every row of the service's tables that belong to `user_id`, by table, in primary-key order."""
    out: Rows = {}
    for table in service_metadata(package).sorted_tables:
        if "user_id" in table.c:
            query = select(table).where(table.c.user_id == user_id).order_by(*table.primary_key.columns)
            out[table.name] = await rows(session, query)
    return out


def export_router(service: str, exporter: Exporter | None = None) -> APIRouter:
    package = "pfms_" + service.replace("-", "_")
    router = APIRouter(prefix="/internal/v1", tags=["internal"])

    @router.get("/export", response_model=Envelope[Export])
    async def export(user_id: UUID, session: Session, _: CallingService) -> dict[str, Any]:
        """The user's data held by this service (service token; never routed by the gateway)."""
        tables = await exporter(session, user_id) if exporter else await user_rows(session, user_id, package)
        return ok(Export(service=service, tables=tables).model_dump(mode="json"))

    return router
