"""App factory and entry point of the investment service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_investment.events import HANDLERS
from pfms_investment.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    return create_app(settings or Settings(), title="PFMS investment service", handlers=HANDLERS)


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
