"""App factory and entry point of the notification service."""

from pathlib import Path

from fastapi import FastAPI

from pfms_notification import api, domain, internal, templates, webhooks
from pfms_notification.dispatch import JOBS, Dispatcher
from pfms_notification.events import HANDLERS
from pfms_notification.intake import BatchConsumer
from pfms_notification.live import LiveHub
from pfms_notification.settings import Settings
from pfms_platform import cli
from pfms_platform.app import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    domain.set_app_url(settings.app_url)

    async def start(app: FastAPI) -> None:
        app.state.dispatcher = Dispatcher(app.state.db, settings)
        app.state.live = LiveHub(settings.database_url)

    async def stop(app: FastAPI) -> None:
        await app.state.dispatcher.close()

    async def listen(app: FastAPI) -> None:
        await app.state.live.run()

    async def intake(app: FastAPI) -> None:
        consumer = BatchConsumer(app.state.db, app.state.bus, settings.service_name, HANDLERS)
        consumer.batch_limit, consumer.linger_seconds = settings.intake_batch_size, settings.intake_batch_wait_seconds
        app.state.consumer = consumer
        await consumer.run()

    background = [listen, *JOBS]
    if settings.consumers_enabled:
        background.append(intake)
    return create_app(
        settings,
        title="PFMS notification service",
        # templates before api: its `/{notification_id}` routes would otherwise take `/templates`
        routers=[webhooks.router, templates.router, api.router, internal.router],
        handlers={},
        on_startup=[start],
        on_shutdown=[stop],
        background=background,
        exporter=internal.export,
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
