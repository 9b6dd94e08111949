"""App factory and entry point of the savings service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_platform import cli
from pfms_platform.app import create_app
from pfms_savings import api_goals, api_internal, api_rules, jobs
from pfms_savings.events import HANDLERS
from pfms_savings.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_app(
        settings,
        title="PFMS savings service",
        routers=[api_goals.router, api_rules.router, api_internal.router],
        handlers=HANDLERS,
        background=[jobs.run] if settings.jobs_enabled else [],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
