"""App factory and entry point of the accounts service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_accounts import api_accounts, api_moves
from pfms_accounts.events import HANDLERS
from pfms_accounts.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_platform.internal import InternalClient

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def open_clients(app: FastAPI) -> None:
        """market-data for exchange and net-worth rates."""
        app.state.market = InternalClient(settings, target="market-data", attempts=settings.internal_attempts)
        app.state.fx_cache = {}

    async def close_clients(app: FastAPI) -> None:
        await app.state.market.aclose()

    return create_app(
        settings,
        title="PFMS accounts service",
        routers=[api_moves.router, api_accounts.router],
        handlers=HANDLERS,
        on_startup=[open_clients],
        on_shutdown=[close_clients],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
