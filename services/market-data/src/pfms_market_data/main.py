"""App factory and entry point of the market-data service."""

import asyncio
from pathlib import Path

from fastapi import FastAPI

from pfms_market_data import api, internal, stream
from pfms_market_data.events import HANDLERS
from pfms_market_data.market import Market
from pfms_market_data.providers import build, offline
from pfms_market_data.scheduler import refresh_loop
from pfms_market_data.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def start(app: FastAPI) -> None:
        if "offline" in (settings.stock_provider, settings.crypto_provider, settings.forex_provider):
            await asyncio.to_thread(offline.warm)
        app.state.market = Market(settings, app.state.redis, app.state.db.sessions, build(settings))
        app.state.broadcaster = stream.Broadcaster(settings.database_url)

    async def stop(app: FastAPI) -> None:
        await app.state.market.close()

    async def listen(app: FastAPI) -> None:
        await app.state.broadcaster.run()

    return create_app(
        settings,
        title="PFMS market-data service",
        routers=[api.router, stream.router, internal.router],
        handlers=HANDLERS,
        on_startup=[start],
        on_shutdown=[stop],
        background=[listen, refresh_loop],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
