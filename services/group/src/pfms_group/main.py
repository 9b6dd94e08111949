"""App factory and entry point of the group service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_group import gdpr, scheduler
from pfms_group.api_expenses import router as expenses
from pfms_group.api_export import router as export
from pfms_group.api_groups import router as groups
from pfms_group.api_settle import router as settle
from pfms_group.api_social import router as social
from pfms_group.events import HANDLERS
from pfms_group.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_platform.internal import InternalClient

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def open_clients(app: FastAPI) -> None:
        """market-data for FX rates, the user service to resolve invitations by email."""
        app.state.market = InternalClient(settings, target="market-data", attempts=settings.internal_attempts)
        app.state.users = InternalClient(settings, target="user", attempts=settings.internal_attempts)

    async def close_clients(app: FastAPI) -> None:
        await app.state.market.aclose()
        await app.state.users.aclose()

    return create_app(
        settings,
        title="PFMS group service",
        routers=[groups, expenses, export, settle, social],
        handlers=HANDLERS,
        on_startup=[open_clients],
        on_shutdown=[close_clients],
        background=[scheduler.run] if settings.scheduler_enabled else [],
        exporter=gdpr.export,
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
