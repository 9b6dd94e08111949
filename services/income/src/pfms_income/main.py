"""App factory and entry point of the income service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_income.api import router
from pfms_income.cashflow import LatestWriter
from pfms_income.events import HANDLERS
from pfms_income.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_app(settings, title="PFMS income service", routers=[router], handlers=HANDLERS)
    app.state.latest_projections = LatestWriter(settings.projection_store_delay_seconds)
    return app


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
