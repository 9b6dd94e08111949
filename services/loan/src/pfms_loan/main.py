"""App factory and entry point of the loan service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_loan import api_contacts, api_disputes, api_extras, api_internal, api_loans, jobs
from pfms_loan.events import HANDLERS
from pfms_loan.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_platform.internal import InternalClient

SERVICE_DIR = Path(__file__).resolve().parents[2]

ROUTERS = (
    api_contacts.router,
    # Fixed paths under /api/v1/loans (templates, reminders) before /api/v1/loans/{loan_id}.
    api_extras.router,
    api_loans.router,
    api_disputes.router,
    api_internal.router,
)


async def _open_clients(app: FastAPI) -> None:
    app.state.users = InternalClient(app.state.settings, target="user")


async def _close_clients(app: FastAPI) -> None:
    await app.state.users.aclose()


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(
        settings,
        title="PFMS loan service",
        routers=ROUTERS,
        handlers=HANDLERS,
        on_startup=[_open_clients],
        on_shutdown=[_close_clients],
        background=[jobs.run] if settings.jobs_enabled else [],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
