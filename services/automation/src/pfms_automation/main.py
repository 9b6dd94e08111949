"""App factory and entry point of the automation service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_automation import internal, scheduler
from pfms_automation.api import router
from pfms_automation.cache import RuleCache
from pfms_automation.events import Runtime, handlers
from pfms_automation.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime(settings)

    async def open_cache(app: FastAPI) -> None:
        app.state.rule_cache = runtime.cache = RuleCache(app.state.redis, max_users=settings.rule_cache_users)

    return create_app(
        settings,
        title="PFMS automation service",
        routers=[router, internal.router],
        handlers=handlers(runtime),
        on_startup=[open_cache],
        background=[scheduler.loop],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
