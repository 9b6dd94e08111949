"""App factory and entry point of the ai service (MongoDB-backed).

The platform's consumer and outbox relay are PostgreSQL-bound, so this service starts their MongoDB
counterparts itself (`MongoConsumer`, `MongoOutboxRelay`) once its store is open.
"""

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from pfms_ai import api, chat_api, internal, receipts_api
from pfms_ai.categorize import Categoriser
from pfms_ai.events import HANDLERS, Deps, forget_caches, reads_nothing_written
from pfms_ai.inbox import MongoConsumer
from pfms_ai.outbox import MongoOutboxRelay
from pfms_ai.settings import Settings
from pfms_ai.store import check_mongo, close_store, open_store
from pfms_platform import cli
from pfms_platform.app import create_app

SERVICE_DIR = Path(__file__).resolve().parents[2]


def create(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    async def open_models(app: FastAPI) -> None:
        app.state.categoriser = categoriser = Categoriser(
            app.state.store.db, check_seconds=settings.model_check_seconds, personal_full_at=settings.personal_full_at
        )
        await categoriser.load_global()
        deps = Deps(
            categoriser,
            app.state.redis,
            min_confidence=settings.categorize_min_confidence,
            source=settings.service_name,
        )
        app.state.store.on_stale = partial(forget_caches, deps)
        if settings.consumers_enabled:
            app.state.consumer = MongoConsumer(
                app.state.store,
                app.state.bus,
                settings.service_name,
                HANDLERS,
                deps,
                prepare=deps.prepare,
                overlap=reads_nothing_written,
                batch_size=settings.consumer_batch_size,
            )
        app.state.relay = MongoOutboxRelay(app.state.store, app.state.bus, settings.service_name)

    async def consume(app: FastAPI) -> None:
        if settings.consumers_enabled:
            await app.state.consumer.run()

    async def relay(app: FastAPI) -> None:
        if settings.relay_enabled:
            await app.state.relay.run()

    return create_app(
        settings,
        title="PFMS ai service",
        routers=[api.router, chat_api.router, receipts_api.router, internal.router],
        use_database=False,
        ready_checks={"mongo": check_mongo},
        on_startup=[open_store, open_models],
        on_shutdown=[close_store],
        background=[consume, relay],
    )


def main() -> None:
    cli.run(SERVICE_DIR, Settings(), create)
