"""App factory and entry point of the ai service (MongoDB-backed)."""

from pathlib import Path

from fastapi import FastAPI

from pfms_ai.events import HANDLERS
from pfms_ai.settings import Settings
from pfms_ai.store import check_mongo, close_store, open_store
from pfms_platform import cli
from pfms_platform.app import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    return create_app(
        settings or Settings(),
        title="PFMS ai service",
        handlers=HANDLERS,
        use_database=False,
        ready_checks={"mongo": check_mongo},
        on_startup=[open_store],
        on_shutdown=[close_store],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
