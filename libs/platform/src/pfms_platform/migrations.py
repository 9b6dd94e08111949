"""Alembic wiring shared by every service: `env.py` calls `run_env`, tools call `upgrade`."""

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def config(service_dir: Path, url: str) -> Config:
    cfg = Config(str(service_dir / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_dir / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(service_dir: Path, url: str, revision: str = "heads") -> None:
    """`heads`: branches two engineers started side by side apply until a merge revision joins them."""
    command.upgrade(config(service_dir, url), revision)


def _run(connection: Connection, metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _online(url: str, metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as conn:
        await conn.run_sync(_run, metadata)
    await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """Body of every service's migrations/env.py (online mode; async engine)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set (settings DATABASE_URL)"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        asyncio.run(_online(url, metadata))
    else:  # called from inside an event loop (tests): run in a worker thread with its own loop
        import threading

        errors: list[BaseException] = []

        def target() -> None:
            try:
                asyncio.run(_online(url, metadata))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
