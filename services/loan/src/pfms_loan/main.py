"""App factory and entry point of the loan service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_loan.events import HANDLERS
from pfms_loan.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    return create_app(settings or Settings(), title="PFMS loan service", handlers=HANDLERS)


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
