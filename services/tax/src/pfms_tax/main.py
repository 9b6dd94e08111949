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

    async def open_clients(app: FastAPI) -> None:
        app.state.market = InternalClient(settings, target="market-data")
        app.state.reports = InternalClient(settings, target="report", timeout=settings.report_timeout_seconds)

    async def close_clients(app: FastAPI) -> None:
        await app.state.market.aclose()
        await app.state.reports.aclose()

    return create_app(
        settings,
        title="PFMS tax service",
        routers=[router, internal],
        handlers=HANDLERS,
        on_startup=[open_clients],
        on_shutdown=[close_clients],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
