"""App factory and entry point of the accounts service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_accounts.events import HANDLERS
from pfms_accounts.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    return create_app(settings or Settings(), title="PFMS accounts service", handlers=HANDLERS)


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
