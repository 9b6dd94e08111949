"""App factory and entry point of the tax service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_platform.internal import InternalClient
from pfms_tax.api import internal, router
from pfms_tax.events import HANDLERS
from pfms_tax.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def open_market(app: FastAPI) -> None:
        app.state.market = InternalClient(settings, target="market-data")

    async def close_market(app: FastAPI) -> None:
        await app.state.market.aclose()

    return create_app(
        settings,
        title="PFMS tax service",
        routers=[router, internal],
        handlers=HANDLERS,
        on_startup=[open_market],
        on_shutdown=[close_market],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
