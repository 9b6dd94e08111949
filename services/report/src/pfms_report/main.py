"""App factory and entry point of the report service."""

from pathlib import Path

from fastapi import FastAPI, Request

from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_platform.logging import get_logger
from pfms_report import api, internal, sweeper, worker
from pfms_report.events import HANDLERS
from pfms_report.settings import Settings
from pfms_report.sources import Sources
from pfms_report.storage import ObjectStore

SERVICE_DIR = Path(__file__).resolve().parents[2]

log = get_logger(__name__)


async def check_storage(request: Request) -> None:
    """Ready only when the bucket answers (it is created here if it went missing)."""
    await request.app.state.store.ensure_bucket()


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def open_store(app: FastAPI) -> None:
        app.state.store = objects = ObjectStore(settings)
        try:
            await objects.ensure_bucket()
        except Exception as exc:  # storage down: /ready says so, and the first upload creates the bucket
            log.warning("object storage unavailable at startup", error=repr(exc)[:200])
        app.state.sources = sources = Sources(settings)
        app.state.worker = worker.Worker(app.state.db, objects, sources, settings)

    async def close_sources(app: FastAPI) -> None:
        await app.state.sources.aclose()

    return create_app(
        settings,
        title="PFMS report service",
        routers=[api.router, internal.router],
        handlers=HANDLERS,
        ready_checks={"storage": check_storage},
        on_startup=[open_store],
        on_shutdown=[close_sources],
        # Each worker loop claims its own job (SKIP LOCKED), so one instance overlaps one job's upstream
        # calls and upload with another's rendering.
        background=[*[worker.run] * settings.worker_concurrency, sweeper.run] if settings.worker_enabled else [],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
