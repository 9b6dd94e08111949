"""App factory and entry point of the investment service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_investment import api_portfolios, api_transactions, api_watchlists, snapshots
from pfms_investment.events import HANDLERS
from pfms_investment.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_platform.internal import InternalClient

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def open_market(app: FastAPI) -> None:
        app.state.market = InternalClient(
            settings, "market-data", timeout=settings.market_timeout_seconds, attempts=settings.market_attempts
        )

    async def close_market(app: FastAPI) -> None:
        await app.state.market.aclose()

    return create_app(
        settings,
        title="PFMS investment service",
        routers=[api_portfolios.router, api_transactions.router, api_watchlists.router],
        handlers=HANDLERS,
        on_startup=[open_market],
        on_shutdown=[close_market],
        background=[snapshots.run] if settings.snapshot_enabled else [],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
