"""Test helpers for encrypted columns: read what PostgreSQL really holds, and walk a migration up and down."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from alembic import command
from sqlalchemy import Text, cast, select
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table

from pfms_devservers import Stack
from pfms_platform.db import Database
from pfms_platform.migrations import config, upgrade
from pfms_platform.testing.fixtures import _admin, service_dir


async def stored(db: Database, table: str, *columns: str) -> list[tuple[Any, ...]]:
    """The raw values of `columns` as a database dump would show them (no type, so no decryption)."""
    raw = sql_table(table, *(sql_column(name) for name in columns))
    async with db.engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(select(*(cast(c, Text) for c in raw.c)))]


def leaked(rows: list[tuple[Any, ...]], *plaintexts: str) -> list[str]:
    """The plaintexts found anywhere in `rows` ([] when every one is encrypted away)."""
    cells = [str(cell) for row in rows for cell in row if cell is not None]
    return [p for p in plaintexts if any(p in cell for cell in cells)]


class Migrating:
    """A service database at some revision, reachable with plain SQL, that a test moves up and down."""

    def __init__(self, name: str, url: str) -> None:
        self.name, self.url = name, url

    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url.replace("+asyncpg", ""))
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    def upgrade(self, revision: str = "heads") -> None:
        upgrade(service_dir(self.name), self.url, revision)

    def downgrade(self, revision: str) -> None:
        command.downgrade(config(service_dir(self.name), self.url), revision)


@asynccontextmanager
async def migrating(stack: Stack, name: str, revision: str) -> AsyncIterator[Migrating]:
    """A fresh database of service `name` migrated to `revision`, dropped afterwards."""
    database = f"t_mig_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
    await _admin(stack, f'CREATE DATABASE "{database}"')
    db = Migrating(name, stack.postgres.url(database))
    try:
        db.upgrade(revision)
        yield db
    finally:
        await _admin(stack, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
