"""App factory and entry point of the user service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_user import internal
from pfms_user.api import router
from pfms_user.events import HANDLERS
from pfms_user.reader import ProfileReader
from pfms_user.settings import Settings
from pfms_user.spaces import api as spaces
from pfms_user.spaces.export import export

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def open_reader(app: FastAPI) -> None:
        app.state.profile_reader = reader = ProfileReader(
            settings.database_url, size=settings.read_pool_size, keyring=settings.field_keyring()
        )
        await reader.open()

    async def close_reader(app: FastAPI) -> None:
        await app.state.profile_reader.close()

    return create_app(
        settings,
        title="PFMS user service",
        routers=[router, spaces.router, internal.router],
        handlers=HANDLERS,
        on_startup=[open_reader],
        on_shutdown=[close_reader],
        exporter=export,
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
