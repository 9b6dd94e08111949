"""App factory and entry point of the report service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_report.events import HANDLERS
from pfms_report.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    return create_app(settings or Settings(), title="PFMS report service", handlers=HANDLERS)


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
