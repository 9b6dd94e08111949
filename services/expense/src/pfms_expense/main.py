"""App factory and entry point of the expense service."""

import asyncio
from pathlib import Path

from fastapi import FastAPI

from pfms_expense import api_budgets, api_categories, api_expenses, api_habits, api_imports, api_recurring, scheduler
from pfms_expense.events import HANDLERS
from pfms_expense.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_platform.internal import InternalClient

SERVICE_DIR = Path(__file__).resolve().parents[2]

ROUTERS = (
    # Fixed paths under /api/v1/expenses before /api/v1/expenses/{expense_id}.
    api_recurring.router,
    api_imports.router,
    api_expenses.router,
    api_categories.router,
    api_budgets.router,
    api_habits.router,
)


async def _open_jobs(app: FastAPI) -> None:
    app.state.import_jobs = set()
    settings = app.state.settings
    app.state.fx = InternalClient(
        settings,
        target="market-data",
        timeout=settings.fx_timeout_seconds,
        attempts=1,
        reset_seconds=settings.fx_breaker_reset_seconds,
    )


async def _stop_jobs(app: FastAPI) -> None:
    """Cancel running imports: each rolls back and marks its batch failed."""
    jobs = list(app.state.import_jobs)
    for task in jobs:
        task.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
    await app.state.fx.aclose()


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(
        settings,
        title="PFMS expense service",
        routers=ROUTERS,
        handlers=HANDLERS,
        on_startup=[_open_jobs],
        on_shutdown=[_stop_jobs],
        background=[scheduler.run] if settings.scheduler_enabled else [],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
