"""Where a report's data comes from: the services' internal APIs, called with a service token.

Every PostgreSQL service answers `GET /internal/v1/export?user_id=` with all of the user's rows
(`{"service", "tables": {table: [rows]}}`); the tax service computes a year with
`GET /internal/v1/tax/calculation?user_id=&year=`. The report service never reads another
service's database.
"""

import uuid
from typing import Any

from pfms_platform.internal import InternalClient
from pfms_report.settings import Settings

EXPORT_PATH = "/internal/v1/export"


class Sources:
    """One pooled client per upstream service, opened on first use and closed on shutdown."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[str, InternalClient] = {}

    def client(self, service: str) -> InternalClient:
        if service not in self._clients:
            self._clients[service] = InternalClient(
                self._settings, target=service, timeout=self._settings.upstream_timeout_seconds
            )
        return self._clients[service]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def export(self, service: str, user_id: uuid.UUID) -> dict[str, Any]:
        """The service's whole export answer for the user: `{"service", "tables"}`."""
        data: dict[str, Any] = await self.client(service).get(EXPORT_PATH, {"user_id": str(user_id)})
        return data

    async def tables(self, service: str, user_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
        tables: dict[str, list[dict[str, Any]]] = (await self.export(service, user_id)).get("tables") or {}
        return tables

    async def tax_calculation(self, user_id: uuid.UUID, year: int) -> dict[str, Any]:
        params = {"user_id": str(user_id), "year": str(year)}
        data: dict[str, Any] = await self.client("tax").get("/internal/v1/tax/calculation", params)
        return data
